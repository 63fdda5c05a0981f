// Flow tables against DPDK's rte_hash (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF) on the same keys,
// 16-byte IPv4 ones (ConntrackTable) and 40-byte IPv6 ones (ConntrackTable6, "ours6" beside
// "rte_hash6"), plus Maglev table builds and SNAT port allocation.
//
// Both tables hold every flow under its two keys (original and reply), so "1M flows" is 2M keys
// in each. Lookups go in bursts of 32 in random order; cycles per op come from the TSC beside
// Google Benchmark's ns (see TscMeter). items_per_second is per CPU second, so the ratios hold on
// a shared machine too. rte_hash needs EAL memory: EAL starts with --no-huge -m 1024 (512 MB is
// the gateway's configuration; the two 1M-flow rte_hash tables of this benchmark need more).
// After the runs, the ours / rte_hash throughput ratio of each pair is printed.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/snat_ports.hpp"
#include "dataplane/lb/maglev.hpp"
#include "dataplane/port/eal_teardown.hpp"

namespace {

using namespace nfgate::ct;

constexpr unsigned kBurst = 32;

// The keys of flow n in each family: distinct clients towards one VIP; replies come from a
// backend to the client.
struct V4 {
    using Table = ConntrackTable;
    using Key = FlowKey;
    static Key flow_key(uint32_t n, bool reply) {
        const uint32_t client = 0x0a000000u + n;
        return reply ? make_key(0x0af40005u, client, 0x901f, static_cast<uint16_t>(n * 7), nfgate::net::kProtoTcp)
                     : make_key(client, 0x0a60000au, static_cast<uint16_t>(n * 7), 0x5000, nfgate::net::kProtoTcp);
    }
};

struct V6 {
    using Table = ConntrackTable6;
    using Key = FlowKey6;
    // 2001:db8::<n>, fd00:96::a (VIP), fd00:244::5 (backend).
    static nfgate::net::Ip6Addr addr(uint16_t g0, uint16_t g1, uint32_t low) {
        nfgate::net::Ip6Addr a;
        a.b[0] = static_cast<uint8_t>(g0 >> 8);
        a.b[1] = static_cast<uint8_t>(g0);
        a.b[2] = static_cast<uint8_t>(g1 >> 8);
        a.b[3] = static_cast<uint8_t>(g1);
        for (unsigned i = 0; i < 4; i++) a.b[15 - i] = static_cast<uint8_t>(low >> (8 * i));
        return a;
    }
    static Key flow_key(uint32_t n, bool reply) {
        const auto client = addr(0x2001, 0xdb8, n);
        return reply ? make_key6(addr(0xfd00, 0x244, 5), client, 0x901f, static_cast<uint16_t>(n * 7), nfgate::net::kProtoTcp)
                     : make_key6(client, addr(0xfd00, 0x96, 0xa), static_cast<uint16_t>(n * 7), 0x5000, nfgate::net::kProtoTcp);
    }
};

// Keys of N flows (both directions), plus the same keys in random order for lookups, plus keys
// that are not in the tables.
template <class Fam>
struct KeySet {
    using Key = typename Fam::Key;
    std::vector<Key> orig, reply;
    std::vector<Key> hit_order;   // random order, both directions
    std::vector<Key> miss_order;  // random order, absent

    explicit KeySet(uint32_t flows) {
        std::mt19937 rng(flows);
        // Flows in random order: inserts and deletes do not walk the key space in sequence.
        std::vector<uint32_t> ids(flows);
        for (uint32_t i = 0; i < flows; i++) ids[i] = i;
        std::shuffle(ids.begin(), ids.end(), rng);
        for (uint32_t id : ids) {
            orig.push_back(Fam::flow_key(id, false));
            reply.push_back(Fam::flow_key(id, true));
        }
        hit_order = orig;
        hit_order.insert(hit_order.end(), reply.begin(), reply.end());
        std::shuffle(hit_order.begin(), hit_order.end(), rng);
        const size_t misses = std::max<size_t>(hit_order.size(), 4096);
        for (size_t i = 0; i < misses; i++) miss_order.push_back(Fam::flow_key(0x40000000u + i, (i & 1) != 0));
        std::shuffle(miss_order.begin(), miss_order.end(), rng);
    }
};

template <class Fam>
std::unique_ptr<typename Fam::Table> make_ours(uint32_t max_flows) {
    ConntrackConfig cfg;
    cfg.max_flows = max_flows;
    cfg.workers = 1;
    std::string err;
    auto t = Fam::Table::create(cfg, err);
    if (!t) std::fprintf(stderr, "bench_conntrack: %s\n", err.c_str());
    return t;
}

template <class Fam>
rte_hash* make_rte_hash(uint32_t keys, const std::string& name) {
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = keys;
    p.key_len = sizeof(typename Fam::Key);
    p.hash_func = rte_hash_crc;
    p.hash_func_init_val = 0;
    p.socket_id = 0;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    rte_hash* h = rte_hash_create(&p);
    if (h == nullptr) std::fprintf(stderr, "bench_conntrack: rte_hash_create(%s): %s\n", name.c_str(), rte_strerror(rte_errno));
    return h;
}

template <class Fam>
std::string family_name() {
    return std::is_same_v<Fam, V4> ? "" : "6";
}

// Built once per family and size and shared by the lookup benchmarks.
template <class Fam>
struct Loaded {
    KeySet<Fam> keys;
    std::unique_ptr<typename Fam::Table> ours;
    rte_hash* theirs = nullptr;

    explicit Loaded(uint32_t flows) : keys(flows) {
        ours = make_ours<Fam>(flows);
        theirs = make_rte_hash<Fam>(2 * flows, "ct_lookup" + family_name<Fam>() + "_" + std::to_string(flows));
        if (!ours || !theirs) return;
        for (uint32_t i = 0; i < flows; i++) {
            const auto r = ours->insert(0, {keys.orig[i], keys.reply[i], nfgate::net::kTcpSyn}, 0);
            rte_hash_add_key_data(theirs, &keys.orig[i], r.entry);
            rte_hash_add_key_data(theirs, &keys.reply[i], r.entry);
        }
    }
};

template <class Fam>
Loaded<Fam>& loaded(uint32_t flows) {
    static std::map<uint32_t, std::unique_ptr<Loaded<Fam>>> cache;
    auto& slot = cache[flows];
    if (!slot) slot = std::make_unique<Loaded<Fam>>(flows);
    return *slot;
}

// TSC cycles per operation: "cycles/op" over the whole run, and "cycles/op_best" over the
// fastest stretch of 1024 iterations, which the preemptions of a shared machine do not reach.
class TscMeter {
public:
    explicit TscMeter(uint64_t ops_per_iter) : ops_per_iter_(ops_per_iter), start_(rte_rdtsc()), chunk_(start_) {}

    void tick() {
        if (++n_ % kChunk != 0) return;
        const uint64_t now = rte_rdtsc();
        best_ = std::min(best_, now - chunk_);
        chunk_ = now;
    }

    void report(benchmark::State& state) const {
        const double ops = double(state.iterations()) * ops_per_iter_;
        const double mean = ops > 0 ? double(rte_rdtsc() - start_) / ops : 0;
        state.counters["cycles/op"] = mean;
        state.counters["cycles/op_best"] =
            best_ == UINT64_MAX ? mean : double(best_) / double(kChunk * ops_per_iter_);
        state.SetItemsProcessed(static_cast<int64_t>(ops));
    }

private:
    static constexpr uint64_t kChunk = 1024;
    uint64_t ops_per_iter_;
    uint64_t start_;
    uint64_t chunk_;
    uint64_t n_ = 0;
    uint64_t best_ = UINT64_MAX;
};

template <class Fam, bool kHit>
void BM_Lookup_Ours(benchmark::State& state) {
    auto& l = loaded<Fam>(static_cast<uint32_t>(state.range(0)));
    if (!l.ours) return state.SkipWithError("table");
    const auto& order = kHit ? l.keys.hit_order : l.keys.miss_order;
    const size_t bursts = order.size() / kBurst;
    typename Fam::Table::Ref out[kBurst];
    size_t b = 0;
    uint64_t found = 0;
    TscMeter tsc(kBurst);
    for (auto _ : state) {
        tsc.tick();
        found += __builtin_popcountll(l.ours->lookup_bulk(&order[b * kBurst], kBurst, out));
        benchmark::DoNotOptimize(out);
        if (++b == bursts) b = 0;
    }
    tsc.report(state);
    state.counters["bytes/flow"] = double(l.ours->memory_bytes()) / l.ours->capacity();
    if ((found > 0) != kHit) state.SkipWithError("wrong lookup results");
}

template <class Fam, bool kHit>
void BM_Lookup_RteHash(benchmark::State& state) {
    auto& l = loaded<Fam>(static_cast<uint32_t>(state.range(0)));
    if (!l.theirs) return state.SkipWithError("rte_hash");
    const auto& order = kHit ? l.keys.hit_order : l.keys.miss_order;
    const size_t bursts = order.size() / kBurst;
    const void* ptrs[kBurst];
    void* data[kBurst];
    size_t b = 0;
    uint64_t found = 0;
    TscMeter tsc(kBurst);
    for (auto _ : state) {
        tsc.tick();
        for (unsigned i = 0; i < kBurst; i++) ptrs[i] = &order[b * kBurst + i];
        uint64_t hits = 0;
        rte_hash_lookup_bulk_data(l.theirs, ptrs, kBurst, &hits, data);
        found += __builtin_popcountll(hits);
        benchmark::DoNotOptimize(data);
        if (++b == bursts) b = 0;
    }
    tsc.report(state);
    if ((found > 0) != kHit) state.SkipWithError("wrong lookup results");
}

// Steady state at N live flows: each iteration inserts a new flow (both keys) and removes the
// oldest (both keys). Ours recycles through the incremental sweep (4 entries examined per
// operation, in slices every 256) and the RCU grace period, counted in the time.
template <class Fam>
void BM_InsertDelete_Ours(benchmark::State& state) {
    const auto flows = static_cast<uint32_t>(state.range(0));
    KeySet<Fam> keys(2 * flows);
    auto t = make_ours<Fam>(2 * flows);
    if (!t) return state.SkipWithError("table");
    std::vector<typename Fam::Table::Entry*> live(flows);
    for (uint32_t i = 0; i < flows; i++) live[i] = t->insert(0, {keys.orig[i], keys.reply[i], nfgate::net::kTcpSyn}, 0).entry;
    uint32_t next = flows, oldest = 0, ops = 0;
    uint64_t failed = 0;
    InsertStatus first_failure = InsertStatus::inserted;
    TscMeter tsc(1);
    for (auto _ : state) {
        tsc.tick();
        const uint32_t k = next % (2 * flows);
        const auto r = t->insert(0, {keys.orig[k], keys.reply[k], nfgate::net::kTcpSyn}, 0);
        next++;
        if (r.status == InsertStatus::inserted) {
            t->unlink(*live[oldest]);
            live[oldest] = r.entry;
            if (++oldest == flows) oldest = 0;
        } else if (failed++ == 0) {
            first_failure = r.status;
        }
        if (++ops % 256 == 0) {
            t->age(0, 0, 1024);
            t->quiescent(0);
        }
    }
    tsc.report(state);
    if (failed) {
        const std::string why = std::to_string(failed) + " inserts failed, first: " +
                                insert_status_name(first_failure) + " after " +
                                std::to_string(t->stats().inserted) + " inserts (" +
                                std::to_string(t->stats().full_buckets) + " with both buckets full)";
        state.SkipWithError(why.c_str());
    }
}

template <class Fam>
void BM_InsertDelete_RteHash(benchmark::State& state) {
    const auto flows = static_cast<uint32_t>(state.range(0));
    KeySet<Fam> keys(2 * flows);
    rte_hash* h = make_rte_hash<Fam>(4 * flows, "ct_churn" + family_name<Fam>() + "_" + std::to_string(flows));
    if (h == nullptr) return state.SkipWithError("rte_hash");
    for (uint32_t i = 0; i < flows; i++) {
        rte_hash_add_key_data(h, &keys.orig[i], nullptr);
        rte_hash_add_key_data(h, &keys.reply[i], nullptr);
    }
    uint32_t next = flows;
    uint64_t failed = 0;
    TscMeter tsc(1);
    for (auto _ : state) {
        tsc.tick();
        const uint32_t k = next % (2 * flows);
        failed += rte_hash_add_key_data(h, &keys.orig[k], nullptr) != 0;
        failed += rte_hash_add_key_data(h, &keys.reply[k], nullptr) != 0;
        // With the lock-free flag a deleted key's slot is freed explicitly, after the readers'
        // grace period; this benchmark has no readers, so at once.
        const uint32_t o = (next - flows) % (2 * flows);
        const int32_t p0 = rte_hash_del_key(h, &keys.orig[o]);
        const int32_t p1 = rte_hash_del_key(h, &keys.reply[o]);
        if (p0 >= 0) rte_hash_free_key_with_position(h, p0);
        if (p1 >= 0) rte_hash_free_key_with_position(h, p1);
        next++;
    }
    tsc.report(state);
    rte_hash_free(h);
    if (failed) state.SkipWithError("rte_hash add failed");
}

void BM_MaglevBuild(benchmark::State& state) {
    std::vector<nfgate::lb::MaglevBackend> b;
    for (int64_t i = 0; i < state.range(0); i++) b.push_back({0x0af40000u + static_cast<uint32_t>(i), 8080});
    TscMeter tsc(1);
    for (auto _ : state) {
        tsc.tick();
        benchmark::DoNotOptimize(nfgate::lb::Maglev::build(b));
    }
    tsc.report(state);
    state.counters["table_size"] = nfgate::lb::Maglev::table_size_for(b.size());
}

void BM_MaglevPick(benchmark::State& state) {
    std::vector<nfgate::lb::MaglevBackend> b;
    for (int64_t i = 0; i < state.range(0); i++) b.push_back({0x0af40000u + static_cast<uint32_t>(i), 8080});
    const auto m = nfgate::lb::Maglev::build(b);
    uint32_t h = 1;
    uint64_t sum = 0;
    TscMeter tsc(1);
    for (auto _ : state) {
        tsc.tick();
        sum += m.pick(h);
        h = h * 1664525u + 1013904223u;
    }
    benchmark::DoNotOptimize(sum);
    tsc.report(state);
}

// One acquire and one release per iteration on a slice kept half full.
void BM_SnatAcquireRelease(benchmark::State& state) {
    const uint32_t addr = 0x010200c0u;
    std::string err;
    auto p = SnatPorts::create(std::span(&addr, 1), SnatPorts::Config{}, err);
    if (!p) return state.SkipWithError(err.c_str());
    std::vector<uint16_t> held;
    uint16_t port = 0;
    while (held.size() < 30000 && p->acquire(0, 0, nfgate::net::kProtoTcp, port)) held.push_back(port);
    size_t i = 0;
    TscMeter tsc(1);
    for (auto _ : state) {
        tsc.tick();
        p->release(0, 0, nfgate::net::kProtoTcp, held[i]);
        p->acquire(0, 0, nfgate::net::kProtoTcp, held[i]);
        if (++i == held.size()) i = 0;
    }
    tsc.report(state);
}

constexpr int64_t k1k = 1024;
constexpr int64_t k1M = 1 << 20;

// IPv4 (ConntrackTable, 16-byte keys) and, as ours6 / rte_hash6, IPv6 (ConntrackTable6,
// 40-byte keys) in the same run.
BENCHMARK(BM_Lookup_Ours<V4, true>)->Name("lookup_hit/ours")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_Lookup_RteHash<V4, true>)->Name("lookup_hit/rte_hash")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_Lookup_Ours<V4, false>)->Name("lookup_miss/ours")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_Lookup_RteHash<V4, false>)->Name("lookup_miss/rte_hash")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_InsertDelete_Ours<V4>)->Name("insert_delete/ours")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_InsertDelete_RteHash<V4>)->Name("insert_delete/rte_hash")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_Lookup_Ours<V6, true>)->Name("lookup_hit/ours6")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_Lookup_RteHash<V6, true>)->Name("lookup_hit/rte_hash6")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_Lookup_Ours<V6, false>)->Name("lookup_miss/ours6")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_Lookup_RteHash<V6, false>)->Name("lookup_miss/rte_hash6")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_InsertDelete_Ours<V6>)->Name("insert_delete/ours6")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_InsertDelete_RteHash<V6>)->Name("insert_delete/rte_hash6")->Arg(k1k)->Arg(k1M);
BENCHMARK(BM_MaglevBuild)->Name("maglev_build")->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaglevPick)->Name("maglev_pick")->Arg(1000);
BENCHMARK(BM_SnatAcquireRelease)->Name("snat_acquire_release");

// Prints each benchmark as usual and remembers items/s, to print ours / rte_hash afterwards.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& r : runs) {
            auto it = r.counters.find("items_per_second");
            if (it != r.counters.end()) rate_[r.benchmark_name()] = it->second.value;
        }
    }
    void PrintRatios() const {
        for (const auto& [name, rate] : rate_) {
            // lookup_hit/ours/N against lookup_hit/rte_hash/N, ours6 against rte_hash6.
            const auto at = name.find("/ours");
            if (at == std::string::npos) continue;
            std::string other = name;
            other.replace(at, 5, "/rte_hash");
            auto it = rate_.find(other);
            if (it == rate_.end() || it->second == 0) continue;
            std::printf("ratio %-28s ours / rte_hash throughput = %.2fx\n", name.c_str(), rate / it->second);
        }
    }

private:
    std::map<std::string, double> rate_;
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    std::string prefix = "--file-prefix=nfgate_bench_ct_" + std::to_string(getpid());
    const char* eal_argv[] = {"bench_conntrack", "--no-huge", "-m", "1024", "--no-pci", "-l", "0",
                              "--log-level=error", prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
        std::fprintf(stderr, "bench_conntrack: rte_eal_init: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.PrintRatios();
    benchmark::Shutdown();
    nfgate::port::eal_cleanup_and_remove_runtime_dir();
    return 0;
}

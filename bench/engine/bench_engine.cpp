// Engine micro benchmarks: parse, checksum update, NAT rewrite, ServiceTable build, and the
// cost per packet of established flows through the real process_burst (cycles measured with
// rte_rdtsc around the burst call only; refilling the test frames is outside the window).
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "bench/engine/bench_fixtures.hpp"
#include "dataplane/engine/burst.hpp"
#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/engine/packet_parse6.hpp"
#include "dataplane/engine/worker.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/packet_builder.hpp"
#include "tests/engine/packet_builder6.hpp"
#include "dataplane/port/eal_teardown.hpp"

namespace {

using namespace nfgate;
using test::ip;
using test::Pkt;

rte_mempool* g_pool = nullptr;
const rte_ether_addr kMacs[] = {{{0x02, 0, 0, 0, 0, 1}}, {{0x02, 0, 0, 0, 0, 2}}};

Model bench_model(unsigned services, unsigned endpoints_per_service) {
    Model m;
    m.node_addresses = {ip("192.0.2.1")};
    m.cluster_cidrs = {Cidr{ip("10.0.0.0"), 8}};
    m.service_cidrs = {Cidr{ip("172.20.0.0"), 16}};
    m.masquerade.non_masquerade_cidrs = {Cidr{ip("10.0.0.0"), 8}};
    m.interfaces = {Interface{"ext", "", IfAddr{ip("192.0.2.1"), 24}}, Interface{"pods", "", IfAddr{ip("10.0.0.1"), 8}}};
    m.routes = {Route{Cidr{0, 0}, ip("192.0.2.254")}};
    for (unsigned s = 0; s < services; ++s) {
        Service svc;
        svc.ns = "bench";
        svc.name = "svc-" + std::to_string(s);
        svc.cluster_ips = {ip("172.20.0.0") + s + 1};
        ServicePort p;
        p.name = "http";
        p.port = 80;
        p.node_port = static_cast<uint16_t>(s < 2000 ? 30000 + s : 0);
        for (unsigned e = 0; e < endpoints_per_service; ++e)
            p.endpoints.push_back(Endpoint{ip("10.128.0.0") + s * 16 + e + 1, 8080, true});
        svc.ports = {p};
        m.services.push_back(svc);
    }
    return m;
}

rte_mbuf* mbuf_of(const std::vector<uint8_t>& f) { return test::to_mbuf(g_pool, f); }

// TSC cycles per iteration of a parse loop: the loop is cut into chunks of 1024 iterations,
// each timed with rte_rdtsc, and the median chunk is reported. On a shared machine a
// preempted chunk is an outlier the median ignores, where one reading around the whole loop
// would count the time another process ran.
class ChunkCycles {
public:
    ChunkCycles() { samples_.reserve(1 << 16); }
    void start() { t0_ = rte_rdtsc(); }
    void tick() {
        if (++n_ < kChunk) return;
        const uint64_t t = rte_rdtsc();
        if (samples_.size() < samples_.capacity()) samples_.push_back(double(t - t0_) / kChunk);
        t0_ = t;
        n_ = 0;
    }
    void report(benchmark::State& state) {
        if (samples_.empty()) return;
        auto mid = samples_.begin() + static_cast<long>(samples_.size() / 2);
        std::nth_element(samples_.begin(), mid, samples_.end());
        state.counters["cycles_per_pkt"] = benchmark::Counter(*mid);
    }

private:
    static constexpr unsigned kChunk = 1024;
    std::vector<double> samples_;
    uint64_t t0_ = 0;
    unsigned n_ = 0;
};

void BM_Parse(benchmark::State& state) {
    rte_mbuf* m = mbuf_of(test::serialize(Pkt::tcp("198.51.100.7", 40000, "10.96.0.10", 80)));
    ChunkCycles cycles;
    cycles.start();
    for (auto _ : state) {
        engine::PacketMeta pm;
        engine::Reason r{};
        bool ok = engine::classify_l2(m, r) == engine::L3Kind::ipv4 && engine::parse_ipv4_packet(m, pm, r);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(pm);
        cycles.tick();
    }
    cycles.report(state);
    rte_pktmbuf_free(m);
}
BENCHMARK(BM_Parse);

// The IPv6 parser on UDP right after the fixed header (arg 0, the inline path) and behind a
// hop-by-hop and a destination options header (arg 1, the out-of-line chain walk).
void BM_Parse6(benchmark::State& state) {
    test::Pkt6 p = test::Pkt6::udp("2001:db8:100::7", 40000, "2001:db8:96::10", 53);
    if (state.range(0) == 1) p.ext = {test::Ext6::hop_by_hop(), test::Ext6::dst_opts()};
    rte_mbuf* m = mbuf_of(test::serialize6(p));
    ChunkCycles cycles;
    cycles.start();
    for (auto _ : state) {
        engine::PacketMeta6 pm;
        engine::Reason r{};
        bool ok = engine::classify_l2(m, r) == engine::L3Kind::ipv6 && engine::parse_ipv6_packet(m, pm, r);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(pm);
        cycles.tick();
    }
    cycles.report(state);
    state.SetLabel(state.range(0) == 1 ? "hop-by-hop + dst opts + UDP" : "UDP");
    rte_pktmbuf_free(m);
}
BENCHMARK(BM_Parse6)->Arg(0)->Arg(1);

void BM_ChecksumUpdate(benchmark::State& state) {
    uint16_t csum = 0x1234;
    uint32_t a = 0x0a000001, b = 0xc0000201;
    for (auto _ : state) {
        net::CsumDelta d;
        d.add32(a, b);
        d.add16(static_cast<uint16_t>(a), static_cast<uint16_t>(b >> 3));
        csum = net::csum_apply(csum, d);
        benchmark::DoNotOptimize(csum);
        ++a;
    }
}
BENCHMARK(BM_ChecksumUpdate);

// The production NAT rewrite (rewrite_flow + forward_ip_csum): a flow's precomputed checksum deltas applied to a packet of its
// original direction (client -> VIP becomes gateway -> backend). The 40 header bytes are put
// back each round, inside the timing (a few cycles of the figure).
void BM_NatRewrite(benchmark::State& state) {
    std::string err;
    ct::ConntrackTable::Config cfg;
    cfg.max_flows = 1024;
    auto table = ct::ConntrackTable::create(cfg, err);
    if (!table) {
        state.SkipWithError(err.c_str());
        return;
    }
    const std::vector<uint8_t> frame = test::serialize(Pkt::tcp("198.51.100.7", 40000, "10.96.0.10", 80));
    rte_mbuf* m = mbuf_of(frame);
    engine::PacketMeta pm;
    engine::Reason r{};
    engine::parse_ipv4_packet(m, pm, r);
    ct::FlowInit fi;
    fi.orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
    fi.reply = ct::make_key(rte_cpu_to_be_32(ip("10.128.0.5")), rte_cpu_to_be_32(ip("10.0.0.1")),
                            rte_cpu_to_be_16(8080), rte_cpu_to_be_16(50000), pm.proto);
    fi.tcp_flags = net::kTcpSyn;
    const ct::InsertResult ins = table->insert(0, fi, 1);
    if (ins.entry == nullptr) {
        state.SkipWithError("flow insert failed");
        return;
    }
    uint8_t saved[40];
    std::memcpy(saved, pm.ip, sizeof saved);
    const engine::PacketMeta fresh = pm;
    for (auto _ : state) {
        std::memcpy(pm.ip, saved, sizeof saved);
        pm = fresh;
        net::CsumDelta ipd;
        engine::rewrite_flow(pm, *ins.entry, ct::Dir::orig, ipd);
        engine::forward_ip_csum(pm.ip, ipd);
        benchmark::ClobberMemory();
    }
    rte_pktmbuf_free(m);
}
BENCHMARK(BM_NatRewrite);

void BM_ServiceTableBuild(benchmark::State& state) {
    const Model m = bench_model(static_cast<unsigned>(state.range(0)), 3);
    for (auto _ : state) {
        std::string err;
        auto st = engine::build_service_table(m, kMacs, err);
        if (!st) state.SkipWithError(err.c_str());
        benchmark::DoNotOptimize(st.get());
    }
    state.SetLabel(std::to_string(state.range(0)) + " services x 3 endpoints");
}
BENCHMARK(BM_ServiceTableBuild)->Arg(10000)->Unit(benchmark::kMillisecond);

// The next snapshot after one Service's endpoints changed, built beside the one in force (the
// unchanged ports' Maglev tables are borrowed), as the fast path publishes a cluster change.
void BM_ServiceTableNext(benchmark::State& state) {
    Model m = bench_model(static_cast<unsigned>(state.range(0)), 3);
    std::string err;
    auto in_force = engine::build_service_table(m, kMacs, err);
    if (!in_force) state.SkipWithError(err.c_str());
    size_t i = 0;
    for (auto _ : state) {
        auto& eps = m.services[(i++ * 7919) % m.services.size()].ports.front().endpoints;
        std::rotate(eps.begin(), eps.begin() + 1, eps.end());
        eps.front().port ^= 1;  // another endpoint
        auto next = engine::build_service_table(m, kMacs, err, nullptr, in_force.get());
        if (!next) state.SkipWithError(err.c_str());
        in_force = std::move(next);
    }
    state.SetLabel(std::to_string(state.range(0)) + " services x 3 endpoints, one changed");
}
BENCHMARK(BM_ServiceTableNext)->Arg(10000)->Unit(benchmark::kMillisecond);

class KeepIo {
public:
    void tx(uint16_t, rte_mbuf* m) { out[n_out++] = m; }
    void drop(rte_mbuf* m) {
        out[n_out++] = m;
        ++dropped;
    }
    rte_mbuf* out[64];
    unsigned n_out = 0;
    uint64_t dropped = 0;
};

// `flows` connections from pod clients (no SNAT, so any count fits the port pools) to
// ClusterIPs, opened with SYNs through process_burst; then bursts of 32 packets of random
// established flows are refilled from their templates (outside the timed window).
class EstablishedRig {
public:
    static constexpr unsigned kBurst = 32;

    explicit EstablishedRig(uint32_t flows) : flows_(flows), templates_(flows), mbufs_(kBurst) {
        const Model m = bench_model(100, 4);
        st_ = engine::build_service_table(m, kMacs, err_);
        engine::EngineConfig cfg = engine::EngineConfig::from_model(m);
        cfg.max_flows = flows + flows / 4 + 1024;
        shared_ = engine::EngineShared::create(cfg, err_);
        if (!st_ || !shared_) return;
        shared_->neighbours().learn(ip("192.0.2.254"), kMacs[0], 0, 1);
        for (unsigned s = 0; s < 100; ++s)
            for (unsigned e = 0; e < 4; ++e) shared_->neighbours().learn(ip("10.128.0.0") + s * 16 + e + 1, kMacs[1], 1, 1);
        worker_ = std::make_unique<engine::WorkerContext>(*shared_, 0);
        for (uint32_t i = 0; i < flows; ++i) {
            Pkt p = Pkt::tcp("10.1.0.0", 1024, "172.20.0.1", 80);
            p.src = ip("10.1.0.0") + (i >> 14);
            p.sport = static_cast<uint16_t>(1024 + (i & 0x3fff));
            p.dst = ip("172.20.0.1") + (i % 100);
            p.eth_dst = kMacs[1];
            templates_[i] = test::serialize(p);
        }
        for (auto& mb : mbufs_) mb = rte_pktmbuf_alloc(g_pool);
        std::vector<uint32_t> seq(kBurst);
        for (uint32_t f = 0; f + kBurst <= flows; f += kBurst) {
            for (unsigned k = 0; k < kBurst; ++k) seq[k] = f + k;
            fill(seq.data());
            run();
        }
    }
    ~EstablishedRig() {
        for (auto* mb : mbufs_) rte_pktmbuf_free(mb);
    }

    bool ok() const { return worker_ != nullptr; }
    const std::string& error() const { return err_; }
    uint64_t flows_created() const { return worker_->stats.flows_created(); }
    uint64_t drops() const { return io_.dropped; }

    // Loads the frames of flows `picks` into the burst. A SYN retransmission is valid in
    // SYN_SENT, so every packet stays on the established path (hit, state check, NAT, route).
    void fill(const uint32_t* picks) {
        for (unsigned k = 0; k < kBurst; ++k) {
            const auto& t = templates_[picks[k]];
            rte_mbuf* mb = mbufs_[k];
            rte_pktmbuf_reset(mb);
            std::memcpy(rte_pktmbuf_append(mb, static_cast<uint16_t>(t.size())), t.data(), t.size());
        }
    }

    // The timed part: one burst through process_burst; returns TSC cycles.
    uint64_t run() {
        io_.n_out = 0;
        const uint64_t t0 = rte_rdtsc_precise();
        engine::process_burst(*worker_, *st_, io_, 1, std::span<rte_mbuf*>(mbufs_), kNow);
        const uint64_t spent = rte_rdtsc_precise() - t0;
        engine::worker_quiescent(*worker_);
        return spent;
    }

    // The conntrack part alone, for comparison: keys of the loaded frames, one bulk lookup.
    uint64_t lookup_only() {
        ct::FlowKey keys[kBurst];
        ct::FlowRef refs[kBurst];
        for (unsigned k = 0; k < kBurst; ++k) {
            const auto* iph = rte_pktmbuf_mtod_offset(mbufs_[k], const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
            const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(iph + 1);
            keys[k] = ct::make_key(iph->src_addr, iph->dst_addr, tcp->src_port, tcp->dst_port, iph->next_proto_id);
        }
        const uint64_t t0 = rte_rdtsc_precise();
        const uint64_t hits = shared_->flows().lookup_bulk(keys, kBurst, refs);
        const uint64_t spent = rte_rdtsc_precise() - t0;
        benchmark::DoNotOptimize(hits);
        return spent;
    }

    uint32_t flows() const { return flows_; }

private:
    static constexpr uint64_t kNow = 1'000'000'000'000ull;
    uint32_t flows_;
    std::string err_;
    std::unique_ptr<engine::ServiceTable> st_;
    std::unique_ptr<engine::EngineShared> shared_;
    std::unique_ptr<engine::WorkerContext> worker_;
    std::vector<std::vector<uint8_t>> templates_;
    std::vector<rte_mbuf*> mbufs_;
    KeepIo io_;
};

// Arg 0: flows; arg 1: 0 = the whole burst function, 1 = the bulk conntrack lookup alone.
// Cycles are counted per burst: the median is immune to the burst that happened to be
// preempted (benchmarks share the machine), the mean is not.
void BM_EstablishedBurst(benchmark::State& state) {
    EstablishedRig rig(static_cast<uint32_t>(state.range(0)));
    if (!rig.ok()) {
        state.SkipWithError(rig.error().c_str());
        return;
    }
    const bool lookup_only = state.range(1) == 1;
    std::mt19937 rng(42);
    std::uniform_int_distribution<uint32_t> pick(0, (rig.flows() / EstablishedRig::kBurst) * EstablishedRig::kBurst - 1);
    std::vector<uint32_t> per_burst;
    per_burst.reserve(1 << 20);
    uint64_t cycles = 0, packets = 0;
    const uint64_t drops_before = rig.drops();
    for (auto _ : state) {
        uint32_t picks[EstablishedRig::kBurst];
        for (auto& p : picks) p = pick(rng);
        rig.fill(picks);
        const uint64_t spent = lookup_only ? rig.lookup_only() : rig.run();
        cycles += spent;
        if (per_burst.size() < per_burst.capacity()) per_burst.push_back(static_cast<uint32_t>(spent));
        packets += EstablishedRig::kBurst;
    }
    std::nth_element(per_burst.begin(), per_burst.begin() + per_burst.size() / 2, per_burst.end());
    const double median = per_burst.empty() ? 0.0 : per_burst[per_burst.size() / 2];
    state.counters["cycles_per_pkt_median"] = benchmark::Counter(median / EstablishedRig::kBurst);
    state.counters["cycles_per_pkt_mean"] = benchmark::Counter(double(cycles) / double(packets));
    state.counters["flows"] = benchmark::Counter(double(rig.flows_created()));
    state.counters["drops"] = benchmark::Counter(double(rig.drops() - drops_before));
    state.SetItemsProcessed(int64_t(packets));
    state.SetLabel(lookup_only ? "conntrack lookup_bulk only" : "process_burst");
}
BENCHMARK(BM_EstablishedBurst)
    ->ArgNames({"flows", "lookup_only"})
    ->Args({1 << 10, 0})
    ->Args({1 << 20, 0})
    ->Args({1 << 10, 1})
    ->Args({1 << 20, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

// The fixtures' lab takes its mbufs from here, as the unit tests take them from their main.
rte_mempool* nfgate::test::test_pool() { return g_pool; }

int main(int argc, char** argv) {
    char prog[] = "bench_engine";
    char a1[] = "--no-huge";
    char a2[] = "-m";
    char a3[] = "512";
    char a4[] = "--no-pci";
    char a5[] = "--log-level=error";
    char a6[] = "--file-prefix=nfgate_bench_engine";
    char* eal_argv[] = {prog, a1, a2, a3, a4, a5, a6};
    if (rte_eal_init(7, eal_argv) < 0) return 1;
    g_pool = rte_pktmbuf_pool_create("bench_engine", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g_pool == nullptr) return 1;
    nfgate::bench::register_fixture_benchmarks();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    nfgate::port::eal_cleanup_and_remove_runtime_dir();
    return 0;
}

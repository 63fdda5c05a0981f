// nfgate_throughput: the fast path's per-worker cost on pre-built traffic.
//
//   nfgate_throughput [--runs N] [--out DIR] [--quick] [--only PROFILE] [--workers 1|2]
//
// Profiles (each with 1 and 2 workers; with 2, both run at once on the two CPUs and share one
// flow table): established 64-byte flows in random order, both directions, at several table
// sizes; a new-connection storm (full handshake + close through DNAT); an IMIX mix of
// established traffic, new connections and pings. established-v6 and conn-storm-v6 are the
// first two over IPv6, on the gateway made dual-stack (NAT66 to IPv6 endpoints, 78-byte
// frames, the smallest IPv6 TCP frame that holds the tag). Every frame that comes out is checked
// (addresses, ports, MACs, TTL or hop limit, checksums); any loss or mistranslation fails the
// run and the exit status. Writes DIR/throughput.json and DIR/throughput.md.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/harness/driver.hpp"
#include "bench/harness/report.hpp"
#include "model/model.hpp"
#include "dataplane/port/rcu_snapshot.hpp"
#include "dataplane/port/eal_teardown.hpp"

namespace nfgate::bench {
namespace {

constexpr const char* kProfiles[] = {"established", "established-v6", "conn-storm", "conn-storm-v6", "mixed-imix"};

struct Options {
    unsigned runs = 5;
    std::string out = "bench/results";
    bool quick = false;
    std::string only;      // one profile (see kProfiles); empty: all
    unsigned workers = 0;  // 1 or 2; 0: both
};

// The IPv4 profiles run on an IPv4-only gateway, as they always have; the -v6 ones on the same
// gateway made dual-stack. A dual-stack engine also keeps an IPv6 flow table and ages a slice
// of it in every housekeeping call, which is timed: kept out of the IPv4 rows so they measure
// what they measured before.
Model bench_model(bool dual_stack) {
    using namespace net;
    Model m;
    m.dataplane = DataplaneKind::dpdk;
    m.node_addresses = {kGwExt};
    m.cluster_cidrs = {{0x0af40000, 16}};
    m.service_cidrs = {{0x0a600000, 16}};
    m.masquerade.non_masquerade_cidrs = {{0x0af40000, 16}};
    m.interfaces = {{"ext", "bench_ext", {kGwExt, 24}}, {"pods", "bench_pods", {kGwPods, 16}}};
    m.routes = {{{0, 0}, kRouter}};
    Service lb;
    lb.ns = "bench";
    lb.name = "lb";
    lb.cluster_ips = {0x0a600001};
    lb.lb_ips = {kLbVip};
    lb.external_traffic_policy = TrafficPolicy::local;
    ServicePort http{"http", Proto::tcp, kVipPort, 0, {}};
    for (unsigned i = 0; i < kBackends; ++i) http.endpoints.push_back({kBackendBase + i, kBackendPort, true});
    lb.ports = {http};
    Service storm = lb;
    storm.name = "storm";
    storm.cluster_ips = {0x0a600002};
    storm.lb_ips = {kStormVip};
    storm.ports[0].endpoints = {{kStormBackend, kBackendPort, true}};
    m.services = {lb, storm};
    if (!dual_stack) return m;
    // The IPv6 half: the pods' /48 holds every endpoint, the LB IPs are routed to the gateway
    // as the IPv4 ones are, ETP Local keeps the client's address.
    m.interfaces[kExt].addresses6 = {IfAddr6{net6::kGwExt, net6::kExtLen}};
    m.interfaces[kPods].addresses6 = {IfAddr6{net6::kGwPods, net6::kPodsLen}};
    m.node_addresses6 = {net6::kGwExt};
    m.cluster_cidrs6 = {Cidr6{net6::kPodsNet, net6::kPodsLen}};
    m.service_cidrs6 = {Cidr6{net6::kServiceNet, 112}};
    m.masquerade.non_masquerade_cidrs6 = m.cluster_cidrs6;
    m.routes6 = {Route6{Cidr6{Ip6{}, 0}, net6::kRouter}};
    Service& lb6 = m.services[0];
    lb6.cluster_ips6 = {net6::kLbClusterIp};
    lb6.lb_ips6 = {net6::kLbVip};
    for (unsigned i = 0; i < kBackends; ++i) lb6.ports[0].endpoints6.push_back(Endpoint6{net6::backend(i), kBackendPort, true});
    Service& storm6 = m.services[1];
    storm6.cluster_ips6 = {net6::kStormClusterIp};
    storm6.lb_ips6 = {net6::kStormVip};
    storm6.ports[0].endpoints6 = {Endpoint6{net6::kStormBackend, kBackendPort, true}};
    return m;
}

// IPv4 neighbours are learnt from the ARP replies the drivers inject in warm-up; the IPv6 ones
// are taught up front, at the MACs neighbour_mac6() derives, so no IPv6 packet waits on
// neighbour discovery.
bool know_ipv6_neighbours(engine::EngineShared& shared, std::string& err) {
    std::vector<Ip6> all = {net6::kRouter, net6::kStormBackend};
    for (unsigned i = 0; i < net::kBackends; ++i) all.push_back(net6::backend(i));
    for (const Ip6& ip : all)
        if (!shared.neighbours6().learn(ip, neighbour_mac6(ip))) {
            err = "IPv6 neighbour table: no room for " + ip6_text(ip);
            return false;
        }
    return true;
}

// What the established and storm profiles need of an address family.
struct V4 {
    using FlowT = Flow;
    using Addr = uint32_t;
    static constexpr const char* kSuffix = "";
    static constexpr bool kDualStack = false;
    static std::vector<Flow> flows(uint32_t n, unsigned space, unsigned w) { return make_flows(n, space, w); }
    static Workload syn(const std::vector<Flow>& f) { return handshake_syn(f, port::kBurstSize); }
    static Workload synack(const std::vector<Flow>& f) { return handshake_synack(f, port::kBurstSize); }
    static Workload ack(const std::vector<Flow>& f) { return handshake_ack(f, port::kBurstSize); }
    static Workload established(const std::vector<Flow>& f, std::mt19937_64& rng) {
        return bench::established(f, port::kBurstSize, rng);
    }
    static Workload storm(uint32_t conns, unsigned space, unsigned w) {
        return connection_storm(conns, space, w, port::kBurstSize);
    }
};

struct V6 {
    using FlowT = Flow6;
    using Addr = Ip6;
    static constexpr const char* kSuffix = "-v6";
    static constexpr bool kDualStack = true;
    static std::vector<Flow6> flows(uint32_t n, unsigned space, unsigned w) { return make_flows6(n, space, w); }
    static Workload syn(const std::vector<Flow6>& f) { return handshake_syn6(f, port::kBurstSize); }
    static Workload synack(const std::vector<Flow6>& f) { return handshake_synack6(f, port::kBurstSize); }
    static Workload ack(const std::vector<Flow6>& f) { return handshake_ack6(f, port::kBurstSize); }
    static Workload established(const std::vector<Flow6>& f, std::mt19937_64& rng) {
        return established6(f, port::kBurstSize, rng);
    }
    static Workload storm(uint32_t conns, unsigned space, unsigned w) {
        return connection_storm6(conns, space, w, port::kBurstSize);
    }
};

// One fast path's engine state for `workers` workers, as FastPath builds it.
struct EngineSet {
    std::unique_ptr<port::QsbrDomain> qsbr = std::make_unique<port::QsbrDomain>();
    std::unique_ptr<engine::EngineShared> shared;
    std::unique_ptr<port::RcuSnapshot<engine::ServiceTable>> table;
    std::vector<std::unique_ptr<engine::WorkerContext>> ctx;
};

std::unique_ptr<EngineSet> make_engine(const Model& base, unsigned workers, uint64_t max_flows,
                                       const HarnessPorts& ports, std::string& err) {
    Model m = base;
    m.workers = workers;
    m.max_flows = static_cast<uint32_t>(max_flows);
    auto es = std::make_unique<EngineSet>();
    if (!es->qsbr->init(workers, err)) return nullptr;
    engine::EngineConfig cfg = engine::EngineConfig::from_model(m);
    cfg.qsbr = es->qsbr->get();
    es->shared = engine::EngineShared::create(cfg, err);
    if (!es->shared || (m.has_ipv6() && !know_ipv6_neighbours(*es->shared, err))) return nullptr;
    const rte_ether_addr macs[2] = {ports.mac[0], ports.mac[1]};
    auto table = engine::build_service_table(m, macs, err);
    if (!table) return nullptr;
    es->table = std::make_unique<port::RcuSnapshot<engine::ServiceTable>>(es->qsbr->get());
    es->table->publish(std::move(table));
    for (unsigned w = 0; w < workers; ++w) es->ctx.push_back(std::make_unique<engine::WorkerContext>(*es->shared, w));
    return es;
}

uint64_t pow2_at_least(uint64_t n) {
    uint64_t p = 1024;
    while (p < n) p <<= 1;
    return p;
}

// Runs job(w) for every worker at once: worker 0 on the first worker lcore, worker 1 on the
// main lcore (the machine has two CPUs).
void on_workers(unsigned workers, const std::function<void(unsigned)>& job) {
    struct Arg {
        const std::function<void(unsigned)>* job;
        unsigned w;
    };
    Arg a0{&job, 0};
    const unsigned lcore = rte_get_next_lcore(-1, 1, 0);
    rte_eal_remote_launch([](void* p) {
        auto* a = static_cast<Arg*>(p);
        (*a->job)(a->w);
        return 0;
    }, &a0, lcore);
    if (workers > 1) job(1);
    rte_eal_wait_lcore(lcore);
}

class Harness {
public:
    Harness(const Options& o, HarnessPorts& ports, rte_mempool* pool) : opt_(o), ports_(ports), model4_(bench_model(false)), model6_(bench_model(true)) {
        for (unsigned w = 0; w < kMaxWorkers; ++w) drivers_.push_back(std::make_unique<WorkerDriver>(w, ports, pool));
    }

    template <class F>
    void established(unsigned workers, uint32_t flows);
    template <class F>
    void storm(unsigned workers, uint32_t conns_per_worker);
    void mixed(unsigned workers, uint32_t flows, uint32_t packets_per_worker);

    const std::vector<Series>& results() const { return results_; }
    // Frees the engine and drivers (DPDK memory) before EAL goes away.
    void release() {
        engine_.reset();
        drivers_.clear();
    }
    bool failed() const { return failed_; }

private:
    bool setup(Series& s, unsigned workers, uint64_t max_flows, bool dual_stack);
    template <class F>
    bool establish(Series& s, unsigned workers, std::vector<std::vector<typename F::FlowT>>& flows);
    bool judge(Series& s, const std::vector<RunStats>& st, const char* phase);
    void record(Series& s, const std::vector<RunStats>& st, const std::vector<const Workload*>& w);
    void finish(Series& s);

    const Options& opt_;
    HarnessPorts& ports_;
    Model model4_, model6_;
    std::vector<std::unique_ptr<WorkerDriver>> drivers_;
    std::unique_ptr<EngineSet> engine_;
    std::vector<Series> results_;
    bool failed_ = false;
    unsigned passes_ = 1;  // passes over the workload per timed run
    std::mt19937_64 rng_{20260101};
};

bool Harness::setup(Series& s, unsigned workers, uint64_t max_flows, bool dual_stack) {
    engine_.reset();
    passes_ = 1;
    std::string err;
    engine_ = make_engine(dual_stack ? model6_ : model4_, workers, pow2_at_least(max_flows), ports_, err);
    if (!engine_) {
        s.failed = true;
        s.errors.push_back("engine set-up: " + err);
        return false;
    }
    for (unsigned w = 0; w < workers; ++w) drivers_[w]->bind(engine_->ctx[w].get(), &engine_->table->pointer(), engine_->qsbr->get());
    return true;
}

bool Harness::judge(Series& s, const std::vector<RunStats>& st, const char* phase) {
    bool ok = true;
    for (size_t w = 0; w < st.size(); ++w) {
        if (st[w].lost == 0 && st[w].wrong == 0) continue;
        ok = false;
        s.errors.push_back(std::string(phase) + ": worker " + std::to_string(w) + " lost " + std::to_string(st[w].lost) +
                           ", mistranslated " + std::to_string(st[w].wrong));
        for (const auto& e : st[w].first_errors) s.errors.push_back("  " + e);
        std::string reasons;
        const engine::WorkerStats& es = engine_->ctx[w]->stats;
        for (size_t r = 0; r < engine::kReasonCount; ++r)
            if (const uint64_t n = es.reason(static_cast<engine::Reason>(r))) {
                reasons.append(" ").append(engine::kReasonNames[r]).append("=").append(std::to_string(n));
            }
        s.errors.push_back("  engine counters of worker " + std::to_string(w) + ":" + reasons);
    }
    if (!ok) s.failed = true;
    return ok;
}

void Harness::record(Series& s, const std::vector<RunStats>& st, const std::vector<const Workload*>& w) {
    const double hz = static_cast<double>(rte_get_tsc_hz());
    double cycles = 0, packets = 0, mpps = 0, conns = 0, gbps = 0, lost = 0, interrupted = 0, bursts = 0;
    for (size_t i = 0; i < st.size(); ++i) {
        const double secs = static_cast<double>(st[i].cycles) / hz;
        cycles += static_cast<double>(st[i].cycles);
        packets += static_cast<double>(st[i].packets);
        mpps += static_cast<double>(st[i].packets) / secs / 1e6;
        conns += static_cast<double>(w[i]->connections) / secs;
        gbps += static_cast<double>(w[i]->bytes) * 8 / secs / 1e9;
        lost += static_cast<double>(st[i].lost);
        interrupted += static_cast<double>(st[i].interrupted);
        bursts += static_cast<double>(w[i]->bursts.size()) * passes_;
    }
    s.interrupted_share.push_back(interrupted / bursts);
    s.cycles_per_packet.push_back(cycles / packets);
    s.mpps.push_back(mpps);
    if (w[0]->connections) s.conn_per_s.push_back(conns);
    if (s.profile == "mixed-imix") s.gbps.push_back(gbps);
    s.drops.push_back(lost);
}

void Harness::finish(Series& s) {
    if (s.failed) {
        failed_ = true;
        std::fprintf(stderr, "FAILED %s, %u worker(s), %llu flows:\n", s.profile.c_str(), s.workers,
                     static_cast<unsigned long long>(s.flows));
        for (const auto& e : s.errors) std::fprintf(stderr, "  %s\n", e.c_str());
    }
    results_.push_back(s);
    std::printf("%s", markdown({static_cast<double>(rte_get_tsc_hz()), opt_.runs, ""}, {s}).c_str());
    std::fflush(stdout);
}

// SYN, SYN/ACK, ACK for every flow, untimed; learns each flow's backend from the SYN's answer.
template <class F>
bool Harness::establish(Series& s, unsigned workers, std::vector<std::vector<typename F::FlowT>>& flows) {
    std::vector<RunStats> st(workers);
    std::vector<std::vector<typename F::Addr>> dst(workers);
    on_workers(workers, [&](unsigned w) {
        Workload syn = F::syn(flows[w]);
        dst[w].assign(syn.size(), typename F::Addr{});
        st[w] = drivers_[w]->run(syn, true, &dst[w]);
        for (size_t i = 0; i < flows[w].size(); ++i) flows[w][i].backend = dst[w][i];
    });
    if (!judge(s, st, "handshake SYN")) return false;
    on_workers(workers, [&](unsigned w) { st[w] = drivers_[w]->run(F::synack(flows[w]), true); });
    if (!judge(s, st, "handshake SYN/ACK")) return false;
    on_workers(workers, [&](unsigned w) { st[w] = drivers_[w]->run(F::ack(flows[w]), true); });
    return judge(s, st, "handshake ACK");
}

template <class F>
void Harness::established(unsigned workers, uint32_t flows) {
    Series s{std::string("established") + F::kSuffix, workers, flows, {}, {}, {}, {}, {}, {}, false, {}};
    if (!setup(s, workers, 2ull * flows, F::kDualStack)) return finish(s);
    std::vector<std::vector<typename F::FlowT>> f(workers);
    for (unsigned w = 0; w < workers; ++w) f[w] = F::flows(flows / workers, 1, w);
    if (!establish<F>(s, workers, f)) return finish(s);
    std::vector<Workload> load(workers);
    for (unsigned w = 0; w < workers; ++w) load[w] = F::established(f[w], rng_);
    // Small tables are fed several passes per run so every run times at least ~1M packets.
    const unsigned passes = std::max(1u, (1u << 20) / (2 * flows / workers));
    passes_ = passes;
    for (unsigned r = 0; r < opt_.runs && !s.failed; ++r) {
        std::vector<RunStats> st(workers);
        on_workers(workers, [&](unsigned w) {
            for (unsigned p = 0; p < passes; ++p) {
                RunStats one = drivers_[w]->run(load[w], false);
                st[w].cycles += one.cycles;
                st[w].packets += one.packets;
                st[w].lost += one.lost;
                st[w].interrupted += one.interrupted;
                st[w].wrong += one.wrong;
                for (auto& e : one.first_errors)
                    if (st[w].first_errors.size() < 5) st[w].first_errors.push_back(e);
            }
        });
        if (!judge(s, st, "established run")) break;
        std::vector<const Workload*> wl;
        for (auto& l : load) wl.push_back(&l);
        record(s, st, wl);
    }
    finish(s);
}

template <class F>
void Harness::storm(unsigned workers, uint32_t conns) {
    Series s{std::string("conn-storm") + F::kSuffix, workers, 0, {}, {}, {}, {}, {}, {}, false, {}};
    if (!setup(s, workers, 2ull * conns * workers * (opt_.runs + 1), F::kDualStack)) return finish(s);
    std::vector<RunStats> st(workers);
    on_workers(workers, [&](unsigned w) { st[w] = drivers_[w]->run(F::storm(64, 14, w), true); });
    if (!judge(s, st, "storm warm-up")) return finish(s);
    for (unsigned r = 0; r < opt_.runs && !s.failed; ++r) {
        std::vector<Workload> load(workers);
        for (unsigned w = 0; w < workers; ++w) load[w] = F::storm(conns, 2 + r, w);
        on_workers(workers, [&](unsigned w) { st[w] = drivers_[w]->run(load[w], false); });
        if (!judge(s, st, "storm run")) break;
        std::vector<const Workload*> wl;
        for (auto& l : load) wl.push_back(&l);
        record(s, st, wl);
    }
    finish(s);
}

void Harness::mixed(unsigned workers, uint32_t flows, uint32_t packets) {
    Series s{"mixed-imix", workers, flows, {}, {}, {}, {}, {}, {}, false, {}};
    if (!setup(s, workers, 2ull * (flows + packets / 10 * workers * opt_.runs), false)) return finish(s);
    std::vector<std::vector<Flow>> f(workers);
    for (unsigned w = 0; w < workers; ++w) f[w] = make_flows(flows / workers, 8, w);
    if (!establish<V4>(s, workers, f)) return finish(s);
    for (unsigned r = 0; r < opt_.runs && !s.failed; ++r) {
        std::vector<Workload> load(workers);
        for (unsigned w = 0; w < workers; ++w) load[w] = bench::mixed(f[w], packets, 9 + r, w, port::kBurstSize, rng_);
        std::vector<RunStats> st(workers);
        on_workers(workers, [&](unsigned w) { st[w] = drivers_[w]->run(load[w], false); });
        if (!judge(s, st, "mixed run")) break;
        std::vector<const Workload*> wl;
        for (auto& l : load) wl.push_back(&l);
        record(s, st, wl);
    }
    finish(s);
}

bool parse_options(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") {
            o.quick = true;
        } else if (a == "--runs" && i + 1 < argc) {
            o.runs = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
        } else if (a == "--out" && i + 1 < argc) {
            o.out = argv[++i];
        } else if (a == "--only" && i + 1 < argc) {
            o.only = argv[++i];
            if (std::find_if(std::begin(kProfiles), std::end(kProfiles), [&](const char* p) { return o.only == p; }) ==
                std::end(kProfiles)) {
                std::fprintf(stderr, "%s: unknown profile %s\n", argv[0], o.only.c_str());
                return false;
            }
        } else if (a == "--workers" && i + 1 < argc) {
            o.workers = static_cast<unsigned>(std::atoi(argv[++i]));
        } else {
            std::string profiles;
            for (const char* p : kProfiles) profiles += (profiles.empty() ? "" : "|") + std::string(p);
            std::fprintf(stderr, "usage: %s [--runs N] [--out DIR] [--quick] [--only %s] [--workers 1|2]\n", argv[0],
                         profiles.c_str());
            return false;
        }
    }
    return true;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

}  // namespace
}  // namespace nfgate::bench

int main(int argc, char** argv) {
    using namespace nfgate::bench;
    Options opt;
    if (!parse_options(argc, argv, opt)) return 2;
    std::string prefix = "--file-prefix=nfgate_bench_" + std::to_string(getpid());
    const char* eal[] = {"nfgate_throughput", "--no-huge", "-m", "512", "--no-pci", "-l", "0-1",
                         "--log-level=*:warning", prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "nfgate_throughput: rte_eal_init: %s (needs root)\n", rte_strerror(rte_errno));
        return 2;
    }
    rte_mempool* pool = rte_pktmbuf_pool_create("bench_pkts", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    HarnessPorts ports;
    std::string err;
    if (pool == nullptr || !ports.create(pool, err)) {
        std::fprintf(stderr, "nfgate_throughput: set-up failed: %s\n", pool ? err.c_str() : "no packet pool");
        return 2;
    }
    Harness h(opt, ports, pool);
    const std::vector<uint32_t> sizes = opt.quick ? std::vector<uint32_t>{1024, 65536}
                                                  : std::vector<uint32_t>{1024, 16384, 262144, 1u << 20};
    const uint32_t storm_conns = opt.quick ? 8192 : 65536;
    const uint32_t mixed_packets = opt.quick ? 65536 : 262144;
    auto want = [&](const char* profile) { return opt.only.empty() || opt.only == profile; };
    for (unsigned workers : {1u, 2u}) {
        if (opt.workers != 0 && opt.workers != workers) continue;
        if (want("established"))
            for (uint32_t n : sizes)
                if (workers == 1 || n == sizes.front() || n == sizes.back()) h.established<V4>(workers, n);
        if (want("established-v6"))
            for (uint32_t n : sizes)
                if (workers == 1 || n == sizes.front() || n == sizes.back()) h.established<V6>(workers, n);
        if (want("conn-storm")) h.storm<V4>(workers, storm_conns);
        if (want("conn-storm-v6")) h.storm<V6>(workers, storm_conns);
        if (want("mixed-imix")) h.mixed(workers, 65536, mixed_packets);
    }
    const ReportMeta meta{static_cast<double>(rte_get_tsc_hz()), opt.runs, cpu_model()};
    if (!write_json(opt.out + "/throughput.json", meta, h.results(), err)) std::fprintf(stderr, "%s\n", err.c_str());
    std::ofstream(opt.out + "/throughput.md") << "# nfgate_throughput\n\n" << markdown(meta, h.results());
    std::printf("\n%s", markdown(meta, h.results()).c_str());
    h.release();
    nfgate::port::eal_cleanup_and_remove_runtime_dir();
    if (h.failed()) {
        std::fprintf(stderr, "nfgate_throughput: FAILED: packets were lost or mistranslated (see above)\n");
        return 1;
    }
    return 0;
}

// A SYN flood mixed with established traffic through the real process_burst: per burst 16
// packets of 4 096 established connections and 16 SYNs, to the bench lab's LoadBalancer IP
// (externalTrafficPolicy Local, so each admitted SYN is a new flow). The SYNs come from random
// spoofed clients with the SYN proxy off (the peer) and on, or from one source with the
// per-source new-flow limit (conntrack.newFlowsPerSource: 1 000/s) off (the peer) and on.
// Reports cycles per packet, the SYNs per second one worker absorbs at that cost, the share of
// established packets delivered (must be 1), and what the flood left in the flow table.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <cstring>
#include <random>
#include <vector>

#include "dataplane/engine/worker.hpp"
#include "tests/engine/engine_lab.hpp"

namespace {

using namespace nfgate;
using test::Pkt;

struct CountingIo {
    void tx(uint16_t port, rte_mbuf* m) {
        const auto* tcp = rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
        const uint8_t flags = tcp[13];
        if (port == test::kPods && flags == RTE_TCP_ACK_FLAG) ++established_out;
        else if (port == test::kExt && flags == (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) ++cookies_out;
        else if (port == test::kPods && flags == RTE_TCP_SYN_FLAG) ++syns_out;
        rte_pktmbuf_free(m);
    }
    void drop(rte_mbuf* m) {
        ++dropped;
        rte_pktmbuf_free(m);
    }
    uint64_t established_out = 0, cookies_out = 0, syns_out = 0, dropped = 0;
};

constexpr unsigned kHalf = 16;
constexpr unsigned kFlows = 4096;

Pkt client_pkt(uint32_t client, uint16_t sport, uint8_t flags) {
    Pkt p = test::from_router(Pkt::tcp("198.51.100.7", sport, "192.0.2.100", 443, flags));
    p.src = client;
    return p;
}

enum Variant : int64_t { kSpoofed = 0, kSpoofedProxy = 1, kOneSource = 2, kOneSourceLimited = 3 };

void BM_SynFlood(benchmark::State& state) {
    const Variant variant = static_cast<Variant>(state.range(0));
    const bool proxy = variant == kSpoofedProxy;
    const bool one_source = variant == kOneSource || variant == kOneSourceLimited;
    test::LabOptions opt;
    opt.max_flows = 65536;
    test::Lab lab(test::lab_model(), opt);
    // 4 096 established connections (handshake through the gateway, proxy still off).
    const uint32_t client = test::ip("198.51.100.7");
    for (uint16_t i = 0; i < kFlows; ++i) {
        lab.send(test::kExt, client_pkt(client, static_cast<uint16_t>(10000 + i), RTE_TCP_SYN_FLAG));
        const test::Out syn = lab.only_output(test::kPods);
        lab.send(test::kPods, test::backend_reply(syn, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
        lab.send(test::kExt, client_pkt(client, static_cast<uint16_t>(10000 + i), RTE_TCP_ACK_FLAG));
    }
    lab.io.clear();
    lab.shared->set_syn_proxy(proxy);
    if (variant == kOneSourceLimited) {
        Model limited = lab.model;
        limited.new_flows_per_source = 1000;
        lab.update(limited);
    }
    const uint32_t flooder = test::ip("198.51.100.250");  // inside the LB source range
    uint16_t flood_port = 1024;
    std::vector<std::vector<uint8_t>> established;
    for (uint16_t i = 0; i < kFlows; ++i)
        established.push_back(test::serialize(client_pkt(client, static_cast<uint16_t>(10000 + i), RTE_TCP_ACK_FLAG)));
    std::mt19937 rng(7);
    std::uniform_int_distribution<uint32_t> pick(0, kFlows - 1), host(1, 254), port(1024, 65535);
    std::vector<rte_mbuf*> burst(2 * kHalf);
    CountingIo io;
    uint64_t cycles = 0, packets = 0, now = lab.now_ns();
    for (auto _ : state) {
        for (unsigned k = 0; k < 2 * kHalf; ++k) {
            // Alternate: an established packet, a spoofed SYN.
            std::vector<uint8_t> f;
            if (k % 2 == 0) f = established[pick(rng)];
            else if (one_source) f = test::serialize(client_pkt(flooder, flood_port++ | 1024, RTE_TCP_SYN_FLAG));
            else f = test::serialize(client_pkt(test::ip("198.51.100.0") + host(rng), static_cast<uint16_t>(port(rng)),
                                                RTE_TCP_SYN_FLAG));
            burst[k] = test::to_mbuf(test::test_pool(), f);
        }
        now += 2'000;  // ~16 M packets a second of simulated time
        const uint64_t t0 = rte_rdtsc_precise();
        engine::process_burst(*lab.worker_, *lab.st, io, test::kExt, std::span<rte_mbuf*>(burst), now);
        cycles += rte_rdtsc_precise() - t0;
        engine::worker_quiescent(*lab.worker_);
        engine::worker_housekeeping(*lab.worker_, now, 64);
        packets += 2 * kHalf;
    }
    const double syns = double(packets) / 2, cpp = double(cycles) / double(packets);
    state.counters["cycles_per_pkt"] = benchmark::Counter(cpp);
    state.counters["syn_Mpps_per_worker"] = benchmark::Counter(double(rte_get_tsc_hz()) / cpp / 2 / 1e6);
    state.counters["established_delivered"] = benchmark::Counter(double(io.established_out) / (double(packets) / 2));
    state.counters["syn_answered_by_cookie"] = benchmark::Counter(double(io.cookies_out) / syns);
    state.counters["syn_forwarded"] = benchmark::Counter(double(io.syns_out) / syns);
    const ct::ConntrackStats fs = lab.shared->flows().stats();
    state.counters["flows_in_use"] = benchmark::Counter(double(fs.live));
    state.counters["early_dropped"] = benchmark::Counter(double(fs.early_dropped));
    state.SetItemsProcessed(int64_t(packets));
    state.counters["rate_limited"] = benchmark::Counter(double(lab.worker_->stats.reason(engine::Reason::new_flow_rate_limited)));
    static const char* const labels[] = {"spoofed, SYN proxy off (early drop only)", "spoofed, SYN proxy on",
                                         "one source, no per-source limit", "one source, newFlowsPerSource 1000"};
    state.SetLabel(labels[variant]);
}
BENCHMARK(BM_SynFlood)->ArgNames({"variant"})->DenseRange(kSpoofed, kOneSourceLimited)->Iterations(200000)->Unit(benchmark::kMicrosecond);

}  // namespace

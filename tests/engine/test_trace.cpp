// `nfgatectl trace` on the fast path: the trace's decisions are the workers' decisions. For the
// same packet, the endpoint and source address a trace reports are those the real burst
// function then gives the connection, and a trace creates no flow.
#include <gtest/gtest.h>

#include "dataplane/engine/trace.hpp"
#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

TracePacket packet(uint8_t proto, const char* src, uint16_t sport, const char* dst, uint16_t dport) {
    return TracePacket{proto, ip(src), ip(dst), sport, dport};
}

TraceResult trace(Lab& lab, const TracePacket& p) {
    return engine::trace_new_flow(*lab.st, lab.shared->affinity(), p,
                                  static_cast<uint32_t>(lab.now_ns() / 1'000'000'000));
}

TEST(Trace, PredictsTheBackendAndSourceTheBurstGives) {
    Lab lab;
    for (uint16_t sport = 40000; sport < 40040; ++sport) {
        const TracePacket tp = packet(6, "198.51.100.7", sport, "10.96.0.10", 80);
        const TraceResult t = trace(lab, tp);
        ASSERT_EQ(t.verdict, "forward") << t.reason;
        EXPECT_EQ(t.service, "default/web");
        EXPECT_EQ(t.candidates.size(), 3u);
        ASSERT_TRUE(t.chosen);
        EXPECT_EQ(lab.shared->flows().stats().inserted, sport - 40000u) << "a trace creates no flow";
        lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", sport, "10.96.0.10", 80, RTE_TCP_SYN_FLAG)));
        const Out o = lab.only_output(kPods);
        EXPECT_EQ(o.dst, t.chosen->ip) << "port " << sport;
        EXPECT_EQ(o.dport, t.chosen->port);
        ASSERT_TRUE(t.masquerade) << "an outside client of a ClusterIP is masqueraded";
        EXPECT_EQ(o.src, *t.snat);
    }
}

TEST(Trace, InClusterClientKeepsItsAddressAndAffinityIsReadNotWritten) {
    Lab lab;
    const TraceResult pod = trace(lab, packet(6, "10.244.9.9", 41000, "10.96.0.10", 80));
    EXPECT_EQ(pod.verdict, "forward");
    EXPECT_FALSE(pod.masquerade);
    EXPECT_FALSE(pod.snat);

    // Affinity: the first connection pins the client; a trace afterwards reports the pin.
    const TraceResult before = trace(lab, packet(6, "198.51.100.8", 42000, "10.96.0.30", 80));
    ASSERT_TRUE(before.chosen);
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.8", 42000, "10.96.0.30", 80, RTE_TCP_SYN_FLAG)));
    const Out first = lab.only_output(kPods);
    EXPECT_EQ(first.dst, before.chosen->ip);
    for (uint16_t sport = 42001; sport < 42010; ++sport) {
        const TraceResult t = trace(lab, packet(6, "198.51.100.8", sport, "10.96.0.30", 80));
        ASSERT_TRUE(t.chosen);
        EXPECT_EQ(t.chosen->ip, first.dst) << "pinned by ClientIP affinity";
        bool said_affinity = false;
        for (const auto& s : t.steps) said_affinity |= s.detail.find("affinity pins") != std::string::npos;
        EXPECT_TRUE(said_affinity);
    }
}

TEST(Trace, RefusalsNameTheCounterTheWorkerWouldBump) {
    Lab lab;
    const TraceResult unalloc = trace(lab, packet(6, "198.51.100.7", 40000, "10.96.99.99", 80));
    EXPECT_EQ(unalloc.verdict, "drop");
    EXPECT_EQ(unalloc.reason, "unallocated_cluster_ip");
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 40000, "10.96.99.99", 80, RTE_TCP_SYN_FLAG)));
    EXPECT_EQ(lab.reason(engine::Reason::unallocated_cluster_ip), 1u);

    const TraceResult denied = trace(lab, packet(6, "203.0.113.9", 40000, "192.0.2.100", 443));
    EXPECT_EQ(denied.verdict, "drop");
    EXPECT_EQ(denied.reason, "source_range_denied");

    const TraceResult empty = trace(lab, packet(17, "198.51.100.7", 40000, "10.96.0.20", 5353));
    EXPECT_EQ(empty.verdict, "reject");
    EXPECT_TRUE(empty.candidates.empty());

    const TraceResult local_etp = trace(lab, packet(6, "198.51.100.7", 40000, "192.0.2.100", 443));
    EXPECT_EQ(local_etp.verdict, "forward");
    EXPECT_FALSE(local_etp.masquerade) << "externalTrafficPolicy: Local keeps the client address";
}

}  // namespace
}  // namespace nfgate::test

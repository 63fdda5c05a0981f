// `nfgatectl trace` on the fast path: the trace's decisions are the workers' decisions. For the
// same packet, the endpoint and source address a trace reports are those the real burst
// function then gives the connection, and a trace creates no flow.
#include <gtest/gtest.h>

#include "dataplane/engine/trace.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"
#include "tests/engine/packet_builder6.hpp"

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

// IPv6: the same decisions over the snapshot's IPv6 half, checked against the real burst.
TracePacket packet6(uint8_t proto, const Ip6& src, uint16_t sport, const Ip6& dst, uint16_t dport) {
    TracePacket p{proto, 0, 0, sport, dport};
    p.ipv6 = true;
    p.src6 = src;
    p.dst6 = dst;
    return p;
}

std::vector<uint8_t> syn6(const Ip6& s, uint16_t sp, const Ip6& d, uint16_t dp, uint16_t port) {
    Pkt6 p = Pkt6::tcp("::1", sp, "::1", dp, RTE_TCP_SYN_FLAG);
    p.src = s;
    p.dst = d;
    p.eth_dst = port == kExt ? kExtMac : kPodsMac;
    p.eth_src = port == kExt ? kClientMac : kPodMac6;
    return serialize6(p);
}

struct Lab6 : Lab {
    Lab6() : Lab(dual_stack_lab_model()) {
        learn_lab_neighbours6(shared->neighbours6(), static_cast<uint32_t>(now_ns() / 1000000000));
    }
};

TEST(Trace6, PredictsTheEndpointAndSourceTheBurstGivesAnIpv6Flow) {
    Lab6 lab;
    for (uint16_t sport = 40000; sport < 40020; ++sport) {
        const TraceResult t = trace(lab, packet6(6, kClient6, sport, kVip6, 80));
        ASSERT_EQ(t.verdict, "forward") << t.reason;
        EXPECT_EQ(t.service, "default/web");
        EXPECT_EQ(t.candidates6.size(), 2u);
        EXPECT_TRUE(t.candidates.empty());
        ASSERT_TRUE(t.chosen6);
        ASSERT_TRUE(t.masquerade) << "an outside client of a ClusterIP is masqueraded";
        ASSERT_TRUE(t.snat6);
        EXPECT_EQ(*t.snat6, kGwPods6);
        EXPECT_EQ(lab.shared->flows6()->stats().inserted, sport - 40000u) << "a trace creates no flow";
        lab.send(kExt, syn6(kClient6, sport, kVip6, 80, kExt));
        ASSERT_EQ(lab.io.sent.size(), 1u);
        const Out6 o = parse_out6(lab.io.sent[0].m);
        EXPECT_EQ(o.dst, t.chosen6->ip) << "port " << sport;
        EXPECT_EQ(o.src, *t.snat6);
        EXPECT_EQ(static_cast<uint16_t>(o.payload[2] << 8 | o.payload[3]), t.chosen6->port);
    }
}

TEST(Trace6, NodePortPodClientAndPodEgress) {
    Lab6 lab;
    const TraceResult np = trace(lab, packet6(6, kClient6, 40001, kGwExt6, 30080));
    EXPECT_EQ(np.verdict, "forward") << np.reason;
    ASSERT_TRUE(np.chosen6);
    EXPECT_EQ(np.chosen6->port, 8080);

    const TraceResult pod = trace(lab, packet6(6, kPodC6, 41000, kVip6, 80));
    EXPECT_EQ(pod.verdict, "forward");
    EXPECT_FALSE(pod.masquerade) << "an in-cluster client keeps its address";
    EXPECT_FALSE(pod.snat6);

    const TraceResult egress = trace(lab, packet6(17, kPodC6, 5000, ip6("2001:db8:99::1"), 53));
    EXPECT_EQ(egress.verdict, "forward");
    ASSERT_TRUE(egress.snat6);
    EXPECT_EQ(*egress.snat6, kGwExt6);
}

TEST(Trace6, RefusalsNameTheCounterTheWorkerWouldBump) {
    Lab6 lab;
    const TraceResult empty = trace(lab, packet6(6, kClient6, 40000, kEmptyVip6, 80));
    EXPECT_EQ(empty.verdict, "reject");
    EXPECT_EQ(empty.reason, "no ready endpoint: TCP reset");
    EXPECT_TRUE(empty.candidates6.empty());
    const TraceResult empty_udp = trace(lab, packet6(17, kClient6, 40000, kEmptyVip6, 5353));
    EXPECT_EQ(empty_udp.verdict, "reject");

    const Ip6 unallocated = ip6("fd00:10:96::99");
    const TraceResult unalloc = trace(lab, packet6(6, kClient6, 40000, unallocated, 80));
    EXPECT_EQ(unalloc.verdict, "drop");
    EXPECT_EQ(unalloc.reason, "unallocated_cluster_ip");
    lab.send(kExt, syn6(kClient6, 40000, unallocated, 80, kExt));
    EXPECT_EQ(lab.reason(engine::Reason::unallocated_cluster_ip), 1u);

    const TraceResult unserved = trace(lab, packet6(6, kClient6, 40000, kVip6, 81));
    EXPECT_EQ(unserved.verdict, "reject") << "an allocated ClusterIP on an unserved port";
}

}  // namespace
}  // namespace nfgate::test

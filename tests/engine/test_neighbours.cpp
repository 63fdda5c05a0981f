// Neighbours on the fast path: a packet waits for its next hop's ARP answer instead of being
// lost to it, the table keeps room for new hosts under an ARP flood, and silent hosts are probed
// and forgotten (dataplane/engine/neighbour_table.hpp, neighbour_wait.hpp, worker_tick.hpp).
#include <gtest/gtest.h>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::NeighbourTable;
using engine::Reason;

const rte_ether_addr kHostMac{{0x02, 0x77, 0, 0, 0, 0x07}};

uint32_t now_s(const Lab& lab) { return static_cast<uint32_t>(lab.now_ns() / 1'000'000'000); }

// A host on the pods link answers the gateway's request (or asks for the gateway itself).
std::vector<uint8_t> answer_from(const rte_ether_addr& mac, uint32_t host) {
    return arp_frame(2, mac, host, kPodsMac, ip("10.244.0.1"), kPodsMac);
}
std::vector<uint8_t> request_from(const rte_ether_addr& mac, uint32_t host) {
    return arp_frame(1, mac, host, rte_ether_addr{}, ip("10.244.0.1"), rte_ether_addr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}});
}

unsigned arp_requests_for(const Lab& lab, uint32_t target) {
    unsigned n = 0;
    for (const auto& s : lab.io.sent) {
        const Out o = parse_out(s.m);
        if (o.arp_op == 1 && o.arp_tip == target) ++n;
    }
    return n;
}

TEST(EngineNeighbours, FirstPacketWaitsForTheArpAnswerAndLeavesWithIt) {
    Lab lab;
    const Pkt p = from_pod(Pkt::tcp("10.244.9.9", 5555, "10.244.7.7", 80, RTE_TCP_SYN_FLAG));
    lab.send(kPods, p);
    const Out req = lab.only_output(kPods);
    ASSERT_EQ(req.arp_op, 1);
    EXPECT_EQ(req.arp_tip, ip("10.244.7.7"));
    EXPECT_EQ(lab.io.dropped, 0u);

    // Another host's request for it teaches nothing (only hosts talking to us are added); the
    // next packet waits too, without a second request inside the second.
    lab.send(kPods, arp_frame(1, kHostMac, ip("10.244.7.7"), rte_ether_addr{}, ip("10.244.9.9"), req.eth_dst));
    lab.send(kPods, p);
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.io.dropped, 0u);

    // The answer releases both, in order, addressed to the host, TTL and checksums done.
    lab.send(kPods, answer_from(kHostMac, ip("10.244.7.7")));
    EXPECT_EQ(lab.reason(Reason::arp_learned), 1u);
    ASSERT_EQ(lab.io.sent.size(), 2u);
    for (const auto& s : lab.io.sent) {
        const Out o = parse_out(s.m);
        EXPECT_EQ(s.port, kPods);
        EXPECT_EQ(mac_str(o.eth_dst), mac_str(kHostMac));
        EXPECT_EQ(mac_str(o.eth_src), mac_str(kPodsMac));
        EXPECT_EQ(o.dst, ip("10.244.7.7"));
        EXPECT_EQ(o.ttl, p.ttl - 1);
        EXPECT_TRUE(o.ip_csum_ok);
        EXPECT_TRUE(o.l4_csum_ok);
    }
    lab.send(kPods, p);
    EXPECT_EQ(mac_str(lab.only_output(kPods).eth_dst), mac_str(kHostMac));
    EXPECT_EQ(lab.reason(Reason::neighbour_unresolved), 0u);
    EXPECT_EQ(lab.reason(Reason::neighbour_queue_timeout), 0u);
}

TEST(EngineNeighbours, AWaitRunsOutAfterASecondEvenWithoutTraffic) {
    Lab lab;
    lab.send(kPods, from_pod(Pkt::udp("10.244.9.9", 5555, "10.244.7.8", 53)));
    ASSERT_EQ(lab.only_output(kPods).arp_op, 1);
    lab.tick();  // still within its second: keeps waiting
    EXPECT_EQ(lab.io.dropped, 0u);
    lab.advance(1);
    lab.tick();
    EXPECT_EQ(lab.io.dropped, 1u);
    EXPECT_EQ(lab.reason(Reason::neighbour_queue_timeout), 1u);
    // A late answer finds nothing left to send.
    lab.send(kPods, answer_from(kHostMac, ip("10.244.7.8")));
    EXPECT_TRUE(lab.io.sent.empty());
}

TEST(EngineNeighbours, OnlyAFewPacketsWaitPerNeighbourTheRestAreDroppedAndCounted) {
    Lab lab;
    const Pkt p = from_pod(Pkt::udp("10.244.9.9", 5555, "10.244.7.9", 53));
    lab.send(kPods, std::vector<std::vector<uint8_t>>(6, serialize(p)));
    EXPECT_EQ(arp_requests_for(lab, ip("10.244.7.9")), 1u);
    EXPECT_EQ(lab.io.sent.size(), 1u);
    EXPECT_EQ(lab.io.dropped, 6u - engine::NeighbourWait::kPerHop);
    EXPECT_EQ(lab.reason(Reason::neighbour_unresolved), 6u - engine::NeighbourWait::kPerHop);
    lab.send(kPods, answer_from(kHostMac, ip("10.244.7.9")));
    EXPECT_EQ(lab.io.sent.size(), engine::NeighbourWait::kPerHop);
}

// 5000 hosts asking for the gateway on one link: the link's share fills, the other link's
// neighbours are untouched, and after the next ageing second a new host is learnt while a next
// hop in use keeps its entry.
TEST(EngineNeighbours, AnArpFloodCannotKeepNewHostsOut) {
    Lab lab;
    const unsigned before = lab.shared->neighbours().size(kPods);
    std::vector<std::vector<uint8_t>> burst;
    unsigned replies = 0;
    for (uint32_t i = 0; i < 5000; ++i) {
        const rte_ether_addr mac{{0x02, 0x66, 0, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                                  static_cast<uint8_t>(i)}};
        burst.push_back(request_from(mac, ip("10.244.100.0") + i));
        if (burst.size() == 32 || i == 4999) {
            lab.send(kPods, burst);
            replies += static_cast<unsigned>(lab.io.sent.size());
            burst.clear();
        }
    }
    EXPECT_EQ(replies, 5000u);  // every request is answered, learnt or not
    EXPECT_EQ(lab.shared->neighbours().size(kPods), NeighbourTable::kPortQuota);
    EXPECT_EQ(lab.reason(Reason::neighbour_table_full), 5000u - (NeighbourTable::kPortQuota - before));

    // The external link keeps its router; a pod in use keeps being reachable.
    lab.send(kPods, from_pod(Pkt::udp("10.244.9.9", 5555, "203.0.113.9", 53)));
    EXPECT_EQ(mac_str(lab.only_output(kExt).eth_dst), mac_str(kRouterMac));
    const Pkt to_pod = from_router(Pkt::udp("192.0.2.77", 5555, "10.244.9.10", 53));
    lab.send(kExt, to_pod);
    EXPECT_EQ(mac_str(lab.only_output(kPods).eth_dst), mac_str(pod_mac(ip("10.244.9.10"))));

    const uint32_t newcomer = ip("10.244.200.1");
    lab.send(kPods, request_from(kHostMac, newcomer));
    EXPECT_EQ(lab.reason(Reason::neighbour_table_full), 5000u - (NeighbourTable::kPortQuota - before) + 1);

    lab.advance(1);
    lab.tick();
    EXPECT_LT(lab.shared->neighbours().size(kPods), NeighbourTable::kPortQuota);
    lab.send(kPods, request_from(kHostMac, newcomer));
    lab.send(kExt, from_router(Pkt::udp("192.0.2.77", 5555, "10.244.200.1", 53)));
    EXPECT_EQ(mac_str(lab.only_output(kPods).eth_dst), mac_str(kHostMac));
    rte_ether_addr mac;
    EXPECT_TRUE(lab.shared->neighbours().lookup(ip("10.244.9.10"), mac, 0));
}

TEST(EngineNeighbours, ASilentHostIsProbedThenForgottenAnAnsweringOneStays) {
    Lab lab;
    const uint32_t silent = ip("10.244.7.1"), alive = ip("10.244.7.2");
    lab.shared->neighbours().learn(silent, kHostMac, kPods, now_s(lab));
    lab.shared->neighbours().learn(alive, kHostMac, kPods, now_s(lab));
    lab.tick();
    EXPECT_EQ(arp_requests_for(lab, silent), 0u);

    lab.advance(NeighbourTable::kReachableSeconds);
    lab.tick();
    EXPECT_EQ(arp_requests_for(lab, silent), 1u);
    EXPECT_EQ(arp_requests_for(lab, alive), 1u);
    for (const auto& s : lab.io.sent) {
        const Out o = parse_out(s.m);
        if (o.arp_tip == silent) {
            EXPECT_EQ(s.port, kPods);
            EXPECT_EQ(o.arp_sip, ip("10.244.0.1"));
        }
    }
    lab.send(kPods, answer_from(kHostMac, alive));

    rte_ether_addr mac;
    for (unsigned probe = 2; probe <= NeighbourTable::kProbes; ++probe) {
        lab.advance(1);
        lab.tick();
        EXPECT_EQ(arp_requests_for(lab, silent), 1u) << "probe " << probe;
        EXPECT_EQ(arp_requests_for(lab, alive), 0u);
        EXPECT_TRUE(lab.shared->neighbours().lookup(silent, mac, 0));
    }
    lab.advance(1);
    lab.tick();
    EXPECT_FALSE(lab.shared->neighbours().lookup(silent, mac, 0));
    EXPECT_TRUE(lab.shared->neighbours().lookup(alive, mac, 0));

    // Traffic to the forgotten host asks for it again.
    lab.send(kExt, from_router(Pkt::udp("192.0.2.77", 5555, "10.244.7.1", 53)));
    EXPECT_EQ(arp_requests_for(lab, silent), 1u);
}

}  // namespace
}  // namespace nfgate::test

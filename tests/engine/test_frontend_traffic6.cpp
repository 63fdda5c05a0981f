// Per-frontend traffic of IPv6 frontends: each takes a slot of its own (never an IPv4 frontend's,
// stable across snapshots), and the workers count a connection to an IPv6 ClusterIP or an IPv6
// nodePort and the packets and bytes of both its directions in that slot, as for IPv4.
#include <gtest/gtest.h>

#include <set>

#include "dataplane/engine/frontend_traffic.hpp"
#include "dataplane/engine/service_table.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"

namespace nfgate::test {
namespace {

using engine::Ip6;

struct Lab6 : Lab {
    Lab6() : Lab(dual_stack_lab_model()) {
        learn_lab_neighbours6(shared->neighbours6(), static_cast<uint32_t>(now_ns() / 1000000000));
    }
};

Pkt6 tcp6(const Ip6& s, uint16_t sp, const Ip6& d, uint16_t dp, uint8_t flags, uint16_t port) {
    Pkt6 p = Pkt6::tcp("::1", sp, "::1", dp, flags);
    p.src = s, p.dst = d;
    p.eth_dst = port == kExt ? kExtMac : kPodsMac;
    p.eth_src = port == kExt ? kClientMac : kPodMac6;
    return p;
}

// The IPv6 packet's length (header and payload), what the counters add per packet.
uint32_t ip6_len(const Pkt6& p) { return static_cast<uint32_t>(serialize6(p).size()) - 14; }

// What one frame to the backend looked like.
struct Leg {
    Ip6 backend;
    uint16_t snat_port = 0;
};

Leg only_leg(Lab& lab, uint16_t want_port) {
    if (lab.io.sent.size() != 1 || lab.io.sent[0].port != want_port) {
        ADD_FAILURE() << lab.io.sent.size() << " frames sent, want 1 on port " << want_port;
        return {};
    }
    const Out6 o = parse_out6(lab.io.sent[0].m);
    return Leg{o.dst, static_cast<uint16_t>(o.payload.at(0) << 8 | o.payload.at(1))};
}

// A client on ext opens a TCP connection to dst:dport (SYN, SYN-ACK, ACK); returns the bytes
// of the three packets as the counters see them.
uint64_t handshake(Lab6& lab, const Ip6& dst, uint16_t dport, uint16_t sport) {
    Pkt6 c = tcp6(kClient6, sport, dst, dport, 0x02, kExt);
    lab.send(kExt, serialize6(c));
    const Leg leg = only_leg(lab, kPods);
    const Pkt6 reply = tcp6(leg.backend, 8080, kGwPods6, leg.snat_port, 0x12, kPods);
    lab.send(kPods, serialize6(reply));
    EXPECT_EQ(lab.io.sent.size(), 1u);
    c.tcp_flags = 0x10;
    lab.send(kExt, serialize6(c));
    only_leg(lab, kPods);
    return 2ull * ip6_len(c) + ip6_len(reply);
}

TEST(FrontendSlots6, Ipv6FrontendsTakeSlotsOfTheirOwnAndKeepThem) {
    Model m = dual_stack_lab_model();
    engine::FrontendSlots slots;
    const std::vector<rte_ether_addr> macs(m.interfaces.size());
    std::string err;
    auto first = engine::build_service_table(m, macs, err, &slots);
    ASSERT_TRUE(first) << err;
    slots.finish();
    const auto& v6 = first->v6().frontends();
    // web: its ClusterIP, externalIP and nodePort; empty: its ClusterIP on its two ports.
    ASSERT_EQ(v6.size(), 5u);
    std::set<uint16_t> taken;
    for (const auto& f : first->frontends()) taken.insert(f.slot);
    for (const auto& f : v6) {
        EXPECT_NE(f.slot, 0);
        EXPECT_TRUE(taken.insert(f.slot).second) << "slot " << f.slot << " of " << ip6_str(f.ip) << " taken twice";
        EXPECT_EQ(first->v6().lookup(f.ip, f.proto, f.port).slot, f.slot);
    }

    m.services.back().ports.front().endpoints6.pop_back();  // endpoints change, frontends do not
    auto second = engine::build_service_table(m, macs, err, &slots);
    ASSERT_TRUE(second) << err;
    EXPECT_TRUE(slots.finish().empty()) << "no frontend is new";
    for (const auto& f : v6) EXPECT_EQ(second->v6().lookup(f.ip, f.proto, f.port).slot, f.slot);
}

TEST(FrontendSlots6, AnIpv6KeyNeverMeetsAnIpv4One) {
    engine::FrontendSlots slots;
    // The IPv4 key of 0.0.0.1:80 and an IPv6 key whose address is ::1: apart, as two IPv6
    // addresses differing in their upper half only.
    const engine::FrontendKey v4{7, uint64_t{1} << 16 | 80};
    const engine::FrontendKey a{7, engine::kFrontendIpv6 | 80, 0, uint64_t{1} << 56};
    const engine::FrontendKey b{7, engine::kFrontendIpv6 | 80, 1, uint64_t{1} << 56};
    const std::set<uint16_t> distinct{slots.take(v4), slots.take(a), slots.take(b)};
    EXPECT_EQ(distinct.size(), 3u);
    EXPECT_EQ(distinct.count(0), 0u);
}

TEST(FrontendTraffic6, AClusterIpConnectionIsCountedInItsSlotBothWays) {
    Lab6 lab;
    const uint16_t slot = lab.st->v6().lookup(kVip6, 6, 80).slot;
    const uint16_t node_port = lab.st->v6().lookup(kGwExt6, 6, 30080).slot;
    const uint16_t v4_twin = lab.st->lookup(ip("10.96.0.10"), 6, 80).slot;
    ASSERT_NE(slot, 0);
    ASSERT_NE(node_port, 0);

    const uint64_t bytes = handshake(lab, kVip6, 80, 40000);
    const engine::FrontendTotals t = lab.worker_->frontends.read(slot);
    EXPECT_EQ(t.connections, 1u);
    EXPECT_EQ(t.packets, 3u) << "SYN, SYN-ACK and ACK: both directions";
    EXPECT_EQ(t.bytes, bytes);
    EXPECT_EQ(lab.worker_->frontends.read(v4_twin).packets, 0u) << "the IPv4 ClusterIP saw nothing";
    EXPECT_EQ(lab.worker_->frontends.read(node_port).packets, 0u) << "the nodePort saw nothing";
    EXPECT_EQ(lab.worker_->frontends.read(0).connections, 0u) << "no connection counted unattributed";

    handshake(lab, kVip6, 80, 40001);
    EXPECT_EQ(lab.worker_->frontends.read(slot).connections, 2u);
    EXPECT_EQ(lab.worker_->frontends.read(slot).packets, 6u);
}

TEST(FrontendTraffic6, ANodePortConnectionIsCountedInTheNodePortsSlot) {
    Lab6 lab;
    const uint16_t slot = lab.st->v6().lookup(kGwExt6, 6, 30080).slot;
    const uint16_t cluster_ip = lab.st->v6().lookup(kVip6, 6, 80).slot;
    ASSERT_NE(slot, 0);

    const uint64_t bytes = handshake(lab, kGwExt6, 30080, 40002);
    const engine::FrontendTotals t = lab.worker_->frontends.read(slot);
    EXPECT_EQ(t.connections, 1u);
    EXPECT_EQ(t.packets, 3u);
    EXPECT_EQ(t.bytes, bytes);
    EXPECT_EQ(lab.worker_->frontends.read(cluster_ip).packets, 0u);
}

// Pod egress is tracked but belongs to no frontend: it adds to slot 0 only.
TEST(FrontendTraffic6, MasqueradedEgressCountsForNoFrontend) {
    Lab6 lab;
    Pkt6 p = Pkt6::udp("::1", 5000, "2001:db8:99::1", 53);
    p.src = kPodC6;
    p.eth_dst = kPodsMac;
    p.eth_src = kPodMac6;
    lab.send(kPods, serialize6(p));
    ASSERT_EQ(lab.io.sent.size(), 1u);
    for (const auto& f : lab.st->v6().frontends())
        EXPECT_EQ(lab.worker_->frontends.read(f.slot).packets, 0u) << ip6_str(f.ip);
}

}  // namespace
}  // namespace nfgate::test

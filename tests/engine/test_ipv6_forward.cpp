// IPv6 forwarding through the real burst function: a ClusterIP, a nodePort and pod egress over
// NAT66 with the IPv6 flow table, replies translated back, next hops solicited and learnt,
// Services without endpoints rejected, the hop limit, link-local and fragments. Checksums of
// what leaves are recomputed by DPDK.
#include <gtest/gtest.h>

#include <rte_ip.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "dataplane/engine/ndp.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"

namespace nfgate::test {
namespace {

using engine::Ip6;
using engine::Reason;

const Ip6 kPodA = kPodA6;
const Ip6 kPodB = kPodB6;
const Ip6 kPodC = kPodC6;

Model dual_stack_model() { return dual_stack_lab_model(); }

struct Lab6 : Lab {
    Lab6() : Lab(dual_stack_model()) {}
    void know_neighbours() { learn_lab_neighbours6(shared->neighbours6(), static_cast<uint32_t>(now_ns() / 1000000000)); }
};

std::vector<uint8_t> frame(Pkt6 p, uint16_t port) {
    p.eth_dst = port == kExt ? kExtMac : kPodsMac;
    p.eth_src = port == kExt ? kClientMac : kPodMac6;
    return serialize6(p);
}

Pkt6 tcp6(const Ip6& s, uint16_t sp, const Ip6& d, uint16_t dp, uint8_t flags) {
    Pkt6 p = Pkt6::tcp("::1", sp, "::1", dp, flags);
    p.src = s;
    p.dst = d;
    return p;
}

Pkt6 udp6(const Ip6& s, uint16_t sp, const Ip6& d, uint16_t dp) {
    Pkt6 p = Pkt6::udp("::1", sp, "::1", dp);
    p.src = s;
    p.dst = d;
    return p;
}

// What left, with its ports and the upper-layer checksum checked.
struct Seen {
    uint16_t port = 0;
    Out6 o;
    uint16_t sport = 0, dport = 0;
    uint8_t tcp_flags = 0;
    bool l4_csum_ok = false;
};

Seen see(const Sent& sent) {
    Seen s;
    s.port = sent.port;
    s.o = parse_out6(sent.m);
    if (s.o.payload.size() >= 4) {
        s.sport = static_cast<uint16_t>(s.o.payload[0] << 8 | s.o.payload[1]);
        s.dport = static_cast<uint16_t>(s.o.payload[2] << 8 | s.o.payload[3]);
    }
    if (s.o.next_header == 6 && s.o.payload.size() >= 14) s.tcp_flags = s.o.payload[13];
    const size_t at = s.o.next_header == 6 ? 16 : s.o.next_header == 17 ? 6 : 2;
    if (s.o.payload.size() == s.o.payload_len && s.o.payload.size() >= at + 2) {
        std::vector<uint8_t> l4 = s.o.payload;
        const uint16_t field = static_cast<uint16_t>(l4[at] << 8 | l4[at + 1]);
        l4[at] = l4[at + 1] = 0;
        const uint16_t want = reference_l4_checksum6(s.o.src, s.o.dst, s.o.next_header, l4.data(), l4.size());
        const uint16_t host = rte_be_to_cpu_16(want);
        // One's complement has two zeros: an incremental update may leave either.
        s.l4_csum_ok = field == host || (host == 0 && field == 0xffff) || (host == 0xffff && field == 0);
    }
    return s;
}

Seen only_sent(Lab& lab) {
    if (lab.io.sent.size() != 1) {
        ADD_FAILURE() << lab.io.sent.size() << " frames sent, want 1";
        return Seen{};
    }
    return see(lab.io.sent[0]);
}

TEST(EngineIpv6Forward, AClusterIpIsTranslatedToAnEndpointAndTheReplyBack) {
    Lab6 lab;
    lab.know_neighbours();
    lab.send(kExt, frame(tcp6(kClient6, 40000, kVip6, 80, 0x02), kExt));
    const Seen out = only_sent(lab);
    EXPECT_EQ(out.port, kPods);
    EXPECT_TRUE(out.o.dst == kPodA || out.o.dst == kPodB) << ip6_str(out.o.dst);
    EXPECT_EQ(out.dport, 8080);
    EXPECT_EQ(out.o.src, kGwPods6) << "a client outside the cluster is masqueraded";
    EXPECT_NE(out.sport, 0);
    EXPECT_EQ(out.o.hop_limit, 63);
    EXPECT_EQ(mac_str(out.o.eth_dst), mac_str(kPodMac6));
    EXPECT_EQ(mac_str(out.o.eth_src), mac_str(kPodsMac));
    EXPECT_TRUE(out.l4_csum_ok);
    EXPECT_EQ(lab.shared->flows6()->stats().inserted, 1u);

    lab.send(kPods, frame(tcp6(out.o.dst, 8080, kGwPods6, out.sport, 0x12), kPods));
    const Seen back = only_sent(lab);
    EXPECT_EQ(back.port, kExt);
    EXPECT_EQ(back.o.src, kVip6);
    EXPECT_EQ(back.sport, 80);
    EXPECT_EQ(back.o.dst, kClient6);
    EXPECT_EQ(back.dport, 40000);
    EXPECT_EQ(back.tcp_flags, 0x12);
    EXPECT_EQ(mac_str(back.o.eth_dst), mac_str(kClientMac));
    EXPECT_TRUE(back.l4_csum_ok);

    // The same connection goes on to the same endpoint.
    lab.send(kExt, frame(tcp6(kClient6, 40000, kVip6, 80, 0x10), kExt));
    const Seen again = only_sent(lab);
    EXPECT_EQ(again.o.dst, out.o.dst);
    EXPECT_EQ(again.sport, out.sport);
    EXPECT_EQ(lab.shared->flows6()->stats().inserted, 1u);
}

TEST(EngineIpv6Forward, ConnectionsSpreadOverTheEndpointsAndAPodKeepsItsSource) {
    Lab6 lab;
    lab.know_neighbours();
    std::set<std::string> seen;
    for (uint16_t sport = 41000; sport < 41064; ++sport) {
        lab.send(kPods, frame(tcp6(kPodC, sport, kVip6, 80, 0x02), kPods));
        const Seen out = only_sent(lab);
        EXPECT_EQ(out.o.src, kPodC) << "kube-proxy keeps an in-cluster client's address";
        EXPECT_EQ(out.sport, sport);
        seen.insert(ip6_str(out.o.dst));
    }
    EXPECT_EQ(seen.size(), 2u);
}

TEST(EngineIpv6Forward, ABurstOfConnectionsStaysOnItsEndpoints) {
    Lab6 lab;
    lab.know_neighbours();
    std::vector<std::vector<uint8_t>> syns;
    for (uint16_t sport = 42000; sport < 42032; ++sport) syns.push_back(frame(tcp6(kClient6, sport, kVip6, 80, 0x02), kExt));
    lab.send(kExt, syns);
    ASSERT_EQ(lab.io.sent.size(), 32u);
    std::vector<std::pair<Ip6, uint16_t>> first;
    for (const Sent& s : lab.io.sent) {
        const Out6 o = parse_out6(s.m);
        first.emplace_back(o.dst, static_cast<uint16_t>(o.payload.at(0) << 8 | o.payload.at(1)));
    }
    lab.send(kExt, syns);  // retransmitted: one bulk lookup, every one a hit, in order, to the same endpoint
    ASSERT_EQ(lab.io.sent.size(), 32u);
    for (size_t k = 0; k < 32; ++k) {
        const Out6 o = parse_out6(lab.io.sent[k].m);
        EXPECT_EQ(o.dst, first[k].first) << k;
        EXPECT_EQ(o.payload.at(0) << 8 | o.payload.at(1), first[k].second) << k;
        EXPECT_EQ(o.hop_limit, 63);
        EXPECT_EQ(lab.io.sent[k].port, kPods);
    }
    EXPECT_EQ(lab.shared->flows6()->stats().inserted, 32u);
}

TEST(EngineIpv6Forward, ANodePortOnTheIpv6NodeAddress) {
    Lab6 lab;
    lab.know_neighbours();
    lab.send(kExt, frame(tcp6(kClient6, 40001, kGwExt6, 30080, 0x02), kExt));
    const Seen out = only_sent(lab);
    EXPECT_EQ(out.port, kPods);
    EXPECT_EQ(out.dport, 8080);
    EXPECT_TRUE(out.l4_csum_ok);
}

TEST(EngineIpv6Forward, PodEgressIsMasqueradedAndItsRepliesReturn) {
    Lab6 lab;
    lab.know_neighbours();
    const Ip6 far = ip6("2001:db8:99::1");
    lab.send(kPods, frame(udp6(kPodC, 5000, far, 53), kPods));
    const Seen out = only_sent(lab);
    EXPECT_EQ(out.port, kExt);
    EXPECT_EQ(out.o.src, kGwExt6);
    EXPECT_EQ(out.o.dst, far);
    EXPECT_EQ(mac_str(out.o.eth_dst), mac_str(kRouterMac)) << "the default route's next hop";
    EXPECT_TRUE(out.l4_csum_ok);
    Pkt6 reply = udp6(far, 53, kGwExt6, out.sport);
    lab.send(kExt, frame(reply, kExt));
    const Seen back = only_sent(lab);
    EXPECT_EQ(back.port, kPods);
    EXPECT_EQ(back.o.dst, kPodC);
    EXPECT_EQ(back.dport, 5000);
    EXPECT_TRUE(back.l4_csum_ok);
    // Pod to pod is not masqueraded (nonMasqueradeCIDRs).
    lab.send(kPods, frame(udp6(kPodC, 5001, kPodA, 53), kPods));
    EXPECT_EQ(only_sent(lab).o.src, kPodC);
}

TEST(EngineIpv6Forward, AnUnknownNextHopIsSolicitedAndThePacketWaitsForTheAdvertisement) {
    Lab6 lab;
    lab.shared->neighbours6().learn(kClient6, kClientMac);
    lab.send(kPods, frame(udp6(kPodC, 5000, kClient6, 7), kPods));  // the pod is unknown: fine, it is the client
    Seen out = only_sent(lab);
    EXPECT_EQ(out.o.dst, kClient6);
    // Two packets to a pod not known yet: one solicitation goes out, both packets wait.
    lab.send(kExt, {frame(udp6(kClient6, 7, kPodA, 9), kExt), frame(udp6(kClient6, 7, kPodA, 9), kExt)});
    out = only_sent(lab);
    EXPECT_EQ(out.port, kPods);
    ASSERT_GE(out.o.payload.size(), 24u);
    EXPECT_EQ(out.o.payload[0], engine::kIcmp6NeighbourSolicit);
    EXPECT_EQ(Ip6::from(out.o.payload.data() + 8), kPodA);
    EXPECT_EQ(out.o.src, kGwPods6);
    EXPECT_EQ(lab.io.dropped, 0u);
    EXPECT_EQ(lab.reason(Reason::neighbour_unresolved), 0u);

    // The advertisement teaches the gateway the pod's MAC, and the waiting packets leave.
    Frame6 na;
    na.eth_src = kPodMac6;
    na.eth_dst = kPodsMac;
    na.src = kPodA;
    na.dst = kGwPods6;
    na.payload = nd_body(engine::kIcmp6NeighbourAdvert, kPodA, 0x60, lladdr_option(2, kPodMac6));  // S, O
    lab.send(kPods, serialize6(na));
    EXPECT_EQ(lab.reason(Reason::nd_learned), 1u);
    ASSERT_EQ(lab.io.sent.size(), 2u);
    for (const Sent& sent : lab.io.sent) {
        const Seen s = see(sent);
        EXPECT_EQ(s.port, kPods);
        EXPECT_EQ(s.o.dst, kPodA);
        EXPECT_EQ(s.o.hop_limit, 63);
        EXPECT_EQ(mac_str(s.o.eth_dst), mac_str(kPodMac6));
        EXPECT_TRUE(s.l4_csum_ok);
    }
    lab.send(kExt, frame(udp6(kClient6, 7, kPodA, 9), kExt));
    out = only_sent(lab);
    EXPECT_EQ(out.o.dst, kPodA);
    EXPECT_EQ(mac_str(out.o.eth_dst), mac_str(kPodMac6));
}

TEST(EngineIpv6Forward, APacketWaitingForAnUnansweredSolicitationIsDroppedAfterASecond) {
    Lab6 lab;
    lab.send(kExt, frame(udp6(kClient6, 7, kPodA, 9), kExt));
    EXPECT_EQ(only_sent(lab).o.payload[0], engine::kIcmp6NeighbourSolicit);
    lab.tick();
    EXPECT_EQ(lab.io.dropped, 0u);
    lab.advance(1);
    lab.tick();
    EXPECT_EQ(lab.io.dropped, 1u);
    EXPECT_EQ(lab.reason(Reason::neighbour_queue_timeout), 1u);
    // More than a neighbour's share waits: the rest is dropped and counted.
    std::vector<std::vector<uint8_t>> many(6, frame(udp6(kClient6, 7, kPodB, 9), kExt));
    lab.send(kExt, many);
    EXPECT_EQ(lab.io.sent.size(), 1u);  // the solicitation
    EXPECT_EQ(lab.io.dropped, 6u - engine::NeighbourWait6::kPerHop);
    EXPECT_EQ(lab.reason(Reason::neighbour_unresolved), 6u - engine::NeighbourWait6::kPerHop);
}

TEST(EngineIpv6Forward, AServiceWithoutEndpointsRejects) {
    Lab6 lab;
    lab.know_neighbours();
    lab.send(kExt, frame(tcp6(kClient6, 40002, kEmptyVip6, 80, 0x02), kExt));
    Seen out = only_sent(lab);
    EXPECT_EQ(out.port, kExt);
    EXPECT_EQ(out.o.src, kEmptyVip6);
    EXPECT_EQ(out.o.dst, kClient6);
    EXPECT_EQ(out.tcp_flags, 0x14) << "RST+ACK";
    EXPECT_TRUE(out.l4_csum_ok);
    EXPECT_EQ(lab.reason(Reason::reset_sent), 1u);
    lab.send(kExt, frame(udp6(kClient6, 40003, kEmptyVip6, 5353), kExt));
    out = only_sent(lab);
    ASSERT_FALSE(out.o.payload.empty());
    EXPECT_EQ(out.o.payload[0], engine::kIcmp6DestUnreachable);
    EXPECT_EQ(out.o.payload[1], engine::kIcmp6CodePortUnreachable);
    EXPECT_TRUE(out.o.icmp6_csum_ok);
    // An allocated IPv6 ClusterIP on another port: rejected too; an unallocated one: dropped.
    lab.send(kExt, frame(tcp6(kClient6, 40004, kVip6, 81, 0x02), kExt));
    EXPECT_EQ(only_sent(lab).tcp_flags, 0x14);
    lab.send(kExt, frame(tcp6(kClient6, 40005, ip6("fd00:10:96::99"), 80, 0x02), kExt));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::unallocated_cluster_ip), 1u);
}

TEST(EngineIpv6Forward, HopLimitAndLinkLocal) {
    Lab6 lab;
    lab.know_neighbours();
    Pkt6 last_hop = tcp6(kClient6, 40006, kVip6, 80, 0x02);
    last_hop.hop_limit = 1;
    lab.send(kExt, frame(last_hop, kExt));
    const Seen out = only_sent(lab);
    EXPECT_EQ(out.port, kExt);
    EXPECT_EQ(out.o.src, kGwExt6);
    ASSERT_FALSE(out.o.payload.empty());
    EXPECT_EQ(out.o.payload[0], engine::kIcmp6TimeExceeded);
    EXPECT_EQ(lab.reason(Reason::ttl_exceeded_sent), 1u);
    EXPECT_EQ(lab.shared->flows6()->stats().inserted, 0u);

    lab.send(kExt, frame(tcp6(ip6("fe80::1"), 40007, kVip6, 80, 0x02), kExt));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::ip6_link_local), 1u);

}

TEST(EngineIpv6Forward, FragmentsOfATranslatedFlowFollowTheFirst) {
    Lab6 lab;
    lab.know_neighbours();
    Pkt6 first = tcp6(kClient6, 40008, kVip6, 80, 0x02);
    first.ext = {Ext6::fragment(0, true, 0xabcd0001)};
    first.payload.assign(60, 'x');  // 20 + 60: a multiple of 8, as a fragment with M set must be
    lab.send(kExt, frame(first, kExt));
    const Seen out = only_sent(lab);
    EXPECT_EQ(out.port, kPods);
    EXPECT_TRUE(out.o.dst == kPodA || out.o.dst == kPodB);
    EXPECT_EQ(out.o.src, kGwPods6);
    Pkt6 later = tcp6(kClient6, 0, kVip6, 0, 0);
    later.ext = {Ext6::fragment(10, false, 0xabcd0001)};
    later.l4_header = false;
    later.payload.assign(40, 'y');
    lab.send(kExt, frame(later, kExt));
    const Seen next = only_sent(lab);
    EXPECT_EQ(next.port, kPods);
    EXPECT_EQ(next.o.src, out.o.src);
    EXPECT_EQ(next.o.dst, out.o.dst);
    EXPECT_EQ(next.o.hop_limit, 63);
    // A later fragment to the VIP whose first fragment never came has nowhere to go.
    later.ext = {Ext6::fragment(10, false, 0xabcd0002)};
    lab.send(kExt, frame(later, kExt));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::fragment_without_first), 1u);
}

TEST(EngineIpv6Forward, APacketTooBigForTheLinkIsAnsweredAboutWhatTheClientSent) {
    Model m = dual_stack_model();
    m.interfaces[kPods].ipv6_mtu = 1280;
    Lab lab(m);
    auto& n = lab.shared->neighbours6();
    n.learn(kClient6, kClientMac);
    for (const Ip6& p : {kPodA, kPodB}) n.learn(p, kPodMac6);
    Pkt6 big = tcp6(kClient6, 40020, kVip6, 80, 0x02);
    big.payload.assign(1300, 'z');  // 40 + 20 + 1300 > 1280
    lab.send(kExt, frame(big, kExt));
    const Seen ptb = only_sent(lab);
    EXPECT_EQ(ptb.port, kExt);
    EXPECT_EQ(ptb.o.src, kGwExt6);
    EXPECT_EQ(ptb.o.dst, kClient6);
    EXPECT_TRUE(ptb.o.icmp6_csum_ok);
    ASSERT_GE(ptb.o.payload.size(), 8u + 40 + 4);
    EXPECT_EQ(ptb.o.payload[0], engine::kIcmp6PacketTooBig);
    EXPECT_EQ(ptb.o.payload[4] << 24 | ptb.o.payload[5] << 16 | ptb.o.payload[6] << 8 | ptb.o.payload[7], 1280);
    const uint8_t* q = ptb.o.payload.data() + 8;
    EXPECT_EQ(Ip6::from(q + 8), kClient6) << "the quote as the client sent it, not as translated";
    EXPECT_EQ(Ip6::from(q + 24), kVip6);
    EXPECT_EQ(q[42] << 8 | q[43], 80);
    EXPECT_LE(ptb.o.payload_len + 40u, 1280u);
    EXPECT_EQ(lab.reason(Reason::packet_too_big_sent), 1u);
    // What fits goes through.
    big.payload.assign(1200, 'z');
    big.sport = 40021;
    lab.send(kExt, frame(big, kExt));
    EXPECT_EQ(only_sent(lab).port, kPods);
}

TEST(EngineIpv6Forward, AnErrorAboutATranslatedFlowIsTranslatedBack) {
    Lab6 lab;
    lab.know_neighbours();
    lab.send(kExt, frame(tcp6(kClient6, 40010, kVip6, 80, 0x02), kExt));
    const Seen out = only_sent(lab);
    // The endpoint answers with port unreachable quoting the packet it got (as translated).
    const auto* ip = rte_pktmbuf_mtod_offset(lab.io.sent[0].m, const uint8_t*, sizeof(rte_ether_hdr));
    const std::vector<uint8_t> quoted(ip, ip + 40 + out.o.payload_len);
    Frame6 err;
    err.eth_src = kPodMac6;
    err.eth_dst = kPodsMac;
    err.src = out.o.dst;
    err.dst = out.o.src;
    err.hop_limit = 64;
    err.payload = icmp6_body(engine::kIcmp6DestUnreachable, engine::kIcmp6CodePortUnreachable, 0, quoted);
    lab.send(kPods, serialize6(err));
    const Seen back = only_sent(lab);
    EXPECT_EQ(back.port, kExt);
    EXPECT_EQ(back.o.src, kVip6) << "from the address the client used";
    EXPECT_EQ(back.o.dst, kClient6);
    EXPECT_TRUE(back.o.icmp6_csum_ok);
    ASSERT_GE(back.o.payload.size(), 8u + 40 + 4);
    const uint8_t* q = back.o.payload.data() + 8;
    EXPECT_EQ(Ip6::from(q + 8), kClient6) << "the quoted packet as the client sent it";
    EXPECT_EQ(Ip6::from(q + 24), kVip6);
    EXPECT_EQ(q[40] << 8 | q[41], 40010);
    EXPECT_EQ(q[42] << 8 | q[43], 80);
    // Its quoted TCP checksum is right again for the untranslated addresses.
    std::vector<uint8_t> l4(q + 40, q + 40 + out.o.payload_len);
    const uint16_t field = static_cast<uint16_t>(l4[16] << 8 | l4[17]);
    l4[16] = l4[17] = 0;
    EXPECT_EQ(field, rte_be_to_cpu_16(reference_l4_checksum6(kClient6, kVip6, 6, l4.data(), l4.size())));
}

TEST(EngineIpv6Forward, AnExternalIpInTheLinkPrefixIsAnsweredByNeighbourDiscovery) {
    Lab6 lab;
    Frame6 ns;
    ns.eth_src = kClientMac;
    ns.eth_dst = engine::multicast_mac(engine::solicited_node(kExternal6));
    ns.src = kClient6;
    ns.dst = engine::solicited_node(kExternal6);
    ns.payload = nd_body(engine::kIcmp6NeighbourSolicit, kExternal6, 0, lladdr_option(1, kClientMac));
    lab.send(kExt, serialize6(ns));
    const Seen na = only_sent(lab);
    ASSERT_FALSE(na.o.payload.empty());
    EXPECT_EQ(na.o.payload[0], engine::kIcmp6NeighbourAdvert);
    EXPECT_EQ(lab.reason(Reason::nd_advert_sent), 1u);
    // ... and the solicitation taught the gateway the client's MAC.
    rte_ether_addr mac;
    ASSERT_TRUE(lab.shared->neighbours6().lookup(kClient6, mac));
    EXPECT_EQ(mac_str(mac), mac_str(kClientMac));
    const auto& announced = lab.st->nd_addresses(kExt);
    EXPECT_NE(std::find(announced.begin(), announced.end(), kExternal6), announced.end());
    EXPECT_EQ(std::find(lab.st->nd_addresses(kPods).begin(), lab.st->nd_addresses(kPods).end(), kExternal6),
              lab.st->nd_addresses(kPods).end());
}

TEST(EngineIpv6Forward, WithoutIpv6AddressesNothingIsForwarded) {
    Lab lab;
    EXPECT_EQ(lab.shared->flows6(), nullptr);
    lab.send(kExt, frame(tcp6(kClient6, 40000, kVip6, 80, 0x02), kExt));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::ip6_not_forwarded), 1u);
}

}  // namespace
}  // namespace nfgate::test

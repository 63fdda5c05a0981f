// Neighbour discovery on the fast path (dataplane/engine/ndp.hpp): solicitations answered for
// the gateway's addresses only, every RFC 4861 7.1 validity rule enforced, the solicitations and
// advertisements the gateway builds, and advertisements read for the neighbour table.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "dataplane/engine/ndp.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"

namespace nfgate::test {
namespace {

using engine::Icmp6Verdict;
using engine::Ip6;

const rte_ether_addr kGwMac{{0x02, 0, 0, 0, 0, 0x01}};
const rte_ether_addr kHostEth{{0x02, 0x66, 0, 0, 0, 0x01}};   // the NS's Ethernet source
const rte_ether_addr kHostLlao{{0x02, 0x66, 0, 0, 0, 0x02}};  // the MAC in its option
const Ip6 kGw = ip6("2001:db8:1::1");
const Ip6 kVip = ip6("2001:db8:1::80");
const Ip6 kHost = ip6("2001:db8:1::99");
const engine::NdIface kIface{kGwMac, true};

bool ours(const Ip6& a) { return a == kGw || a == kVip; }

std::string verdict(Icmp6Verdict v) { return std::string(engine::icmp6_verdict_name(v)); }

// A host on the link asks for `target`, as Linux does: to the target's solicited-node group,
// with its link-layer address.
Frame6 ns_for(const Ip6& target) {
    Frame6 f;
    f.eth_src = kHostEth;
    f.eth_dst = engine::multicast_mac(engine::solicited_node(target));
    f.src = kHost;
    f.dst = engine::solicited_node(target);
    f.payload = nd_body(engine::kIcmp6NeighbourSolicit, target, 0, lladdr_option(1, kHostLlao));
    return f;
}

struct Answer {
    Icmp6Verdict v;
    Out6 out;
    engine::Solicitation ns;
    std::vector<uint8_t> bytes_after;  // what the mbuf holds afterwards
};

Answer answer(const std::vector<uint8_t>& frame, const engine::NdIface& iface = kIface) {
    rte_mbuf* m = to_mbuf(test_pool(), frame);
    EXPECT_NE(m, nullptr);
    Answer a;
    a.v = engine::answer_ns(m, iface, ours, a.ns);
    a.out = parse_out6(m);
    const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
    a.bytes_after.assign(d, d + rte_pktmbuf_data_len(m));
    rte_pktmbuf_free(m);
    return a;
}

// The NA's ICMPv6 fields, by RFC 4861 4.4 offsets.
struct Na {
    uint8_t type, code, flags;
    Ip6 target;
    uint8_t opt_type, opt_len;
    rte_ether_addr opt_mac;
};
Na na_of(const Out6& o) {
    Na n{};
    if (o.payload.size() < 32) return n;
    n.type = o.payload[0];
    n.code = o.payload[1];
    n.flags = o.payload[4];
    n.target = engine::Ip6::from(o.payload.data() + 8);
    n.opt_type = o.payload[24];
    n.opt_len = o.payload[25];
    std::memcpy(n.opt_mac.addr_bytes, o.payload.data() + 26, 6);
    return n;
}

TEST(Ndp, SolicitationForOurAddressIsAnsweredWithEveryFieldOfTheAdvertisement) {
    const Answer a = answer(serialize6(ns_for(kGw)));
    ASSERT_EQ(verdict(a.v), "answered");
    const Out6& o = a.out;
    EXPECT_EQ(o.frame_len, engine::kNdFrameLen);
    EXPECT_EQ(mac_str(o.eth_dst), mac_str(kHostLlao));  // the option wins over the Ethernet source
    EXPECT_EQ(mac_str(o.eth_src), mac_str(kGwMac));
    EXPECT_EQ(o.ether_type, RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(o.version, 6);
    EXPECT_EQ(o.traffic_class, 0);
    EXPECT_EQ(o.flow_label, 0u);
    EXPECT_EQ(o.payload_len, 32);
    EXPECT_EQ(o.next_header, engine::kProtoIcmp6);
    EXPECT_EQ(o.hop_limit, 255);
    EXPECT_EQ(ip6_str(o.src), ip6_str(kGw));
    EXPECT_EQ(ip6_str(o.dst), ip6_str(kHost));
    EXPECT_TRUE(o.icmp6_csum_ok);
    const Na n = na_of(o);
    EXPECT_EQ(n.type, engine::kIcmp6NeighbourAdvert);
    EXPECT_EQ(n.code, 0);
    EXPECT_EQ(n.flags, 0x80 | 0x40 | 0x20);  // router, solicited, override
    EXPECT_EQ(o.payload[5] | o.payload[6] | o.payload[7], 0);  // reserved
    EXPECT_EQ(ip6_str(n.target), ip6_str(kGw));
    EXPECT_EQ(n.opt_type, 2);  // target link-layer address
    EXPECT_EQ(n.opt_len, 1);
    EXPECT_EQ(mac_str(n.opt_mac), mac_str(kGwMac));
    // The checksum helper agrees with DPDK's on the answer.
    auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(a.bytes_after.data() + 14);
    EXPECT_EQ(engine::icmp6_checksum(ip->src_addr, ip->dst_addr, a.bytes_after.data() + 54, 32), 0);
    // What the caller learns from (RFC 4861 7.2.3).
    EXPECT_TRUE(a.ns.has_source_mac);
    EXPECT_EQ(mac_str(a.ns.source_mac), mac_str(kHostLlao));
    EXPECT_EQ(ip6_str(a.ns.src), ip6_str(kHost));
}

TEST(Ndp, SolicitationForAVipWithoutSourceOptionGoesToTheEthernetSource) {
    Frame6 f = ns_for(kVip);
    f.payload = nd_body(engine::kIcmp6NeighbourSolicit, kVip);
    const Answer a = answer(serialize6(f), engine::NdIface{kGwMac, false});
    ASSERT_EQ(verdict(a.v), "answered");
    EXPECT_EQ(mac_str(a.out.eth_dst), mac_str(kHostEth));
    EXPECT_EQ(ip6_str(a.out.src), ip6_str(kVip));
    EXPECT_EQ(ip6_str(na_of(a.out).target), ip6_str(kVip));
    EXPECT_EQ(na_of(a.out).flags, 0x40 | 0x20);  // not a router: solicited, override
    EXPECT_TRUE(a.out.icmp6_csum_ok);
    EXPECT_FALSE(a.ns.has_source_mac);
}

TEST(Ndp, SolicitationForAnAddressNotOursIsLeftAlone) {
    const std::vector<uint8_t> in = serialize6(ns_for(ip6("2001:db8:1::2")));
    const Answer a = answer(in);
    EXPECT_EQ(verdict(a.v), "not_for_us");
    EXPECT_EQ(a.bytes_after, in);
}

TEST(Ndp, DuplicateAddressDetectionIsAnsweredToAllNodes) {
    Frame6 f = ns_for(kGw);
    f.src = Ip6{};
    f.payload = nd_body(engine::kIcmp6NeighbourSolicit, kGw);
    const Answer a = answer(serialize6(f));
    ASSERT_EQ(verdict(a.v), "answered");
    EXPECT_EQ(ip6_str(a.out.dst), "ff02::1");
    EXPECT_EQ(mac_str(a.out.eth_dst), "33:33:00:00:00:01");
    EXPECT_EQ(ip6_str(a.out.src), ip6_str(kGw));
    EXPECT_EQ(a.out.hop_limit, 255);
    EXPECT_EQ(na_of(a.out).flags, 0x80 | 0x20);  // RFC 4861 7.2.4: Solicited clear
    EXPECT_TRUE(a.out.icmp6_csum_ok);
}

// Each variant breaks one rule of RFC 4861 7.1.1 (or is not an NS at all); the base NS is
// answered (first row), so every other row's verdict comes from its one change.
struct BadNs {
    const char* name;
    std::function<void(Frame6&)> change;
    const char* verdict;
};

TEST(Ndp, EveryInvalidSolicitationIsDropped) {
    const std::vector<BadNs> cases = {
        {"valid", [](Frame6&) {}, "answered"},
        {"hop limit 254 (forwarded)", [](Frame6& f) { f.hop_limit = 254; }, "bad_hop_limit"},
        {"code 1", [](Frame6& f) { f.payload[1] = 1; }, "bad_code"},
        {"ICMP length 23", [](Frame6& f) { f.payload.resize(23); }, "too_short"},
        {"wrong checksum", [](Frame6& f) { f.fix_checksum = false; f.payload[2] = 0x12; f.payload[3] = 0x34; },
         "bad_checksum"},
        {"multicast target", [](Frame6& f) { f.payload[8] = 0xff; }, "multicast_target"},
        {"option of length 0", [](Frame6& f) { f.payload[25] = 0; }, "bad_option_length"},
        {"option past the end", [](Frame6& f) { f.payload[25] = 2; }, "bad_option_length"},
        {"a lone option byte", [](Frame6& f) { f.payload.push_back(1); }, "bad_option_length"},
        {"unspecified source to a unicast destination",
         [](Frame6& f) {
             f.src = Ip6{};
             f.payload.resize(24);
             f.dst = kGw;
         },
         "dad_not_to_solicited_node"},
        {"unspecified source with a source link-layer option", [](Frame6& f) { f.src = Ip6{}; },
         "dad_with_source_lladdr"},
        {"an advertisement", [](Frame6& f) { f.payload[0] = engine::kIcmp6NeighbourAdvert; }, "wrong_type"},
        {"UDP, not ICMPv6", [](Frame6& f) { f.next_header = 17; }, "malformed"},
    };
    for (const BadNs& c : cases) {
        Frame6 f = ns_for(kGw);
        c.change(f);
        const Answer a = answer(serialize6(f));
        EXPECT_EQ(verdict(a.v), c.verdict) << c.name;
    }
}

TEST(Ndp, SolicitationBuiltForANextHopGoesToItsSolicitedNodeGroup) {
    rte_mbuf* m = to_mbuf(test_pool(), std::vector<uint8_t>(300, 0xaa));  // whatever it held goes
    ASSERT_TRUE(engine::build_ns(m, kIface, kGw, ip6("2001:db8:1::12:3456")));
    const Out6 o = parse_out6(m);
    EXPECT_EQ(o.frame_len, engine::kNdFrameLen);
    EXPECT_EQ(mac_str(o.eth_dst), "33:33:ff:12:34:56");
    EXPECT_EQ(mac_str(o.eth_src), mac_str(kGwMac));
    EXPECT_EQ(ip6_str(o.dst), "ff02::1:ff12:3456");
    EXPECT_EQ(ip6_str(o.src), ip6_str(kGw));
    EXPECT_EQ(o.hop_limit, 255);
    EXPECT_EQ(o.payload_len, 32);
    EXPECT_TRUE(o.icmp6_csum_ok);
    const Na n = na_of(o);  // same layout: type, code, flags/reserved, target, one option
    EXPECT_EQ(n.type, engine::kIcmp6NeighbourSolicit);
    EXPECT_EQ(n.code, 0);
    EXPECT_EQ(o.payload[4] | o.payload[5] | o.payload[6] | o.payload[7], 0);
    EXPECT_EQ(ip6_str(n.target), "2001:db8:1::12:3456");
    EXPECT_EQ(n.opt_type, 1);  // source link-layer address
    EXPECT_EQ(n.opt_len, 1);
    EXPECT_EQ(mac_str(n.opt_mac), mac_str(kGwMac));
    // The neighbour reads it as a valid NS.
    engine::Solicitation ns;
    EXPECT_EQ(verdict(engine::read_ns(m, ns)), "read");
    rte_pktmbuf_free(m);
}

Frame6 na_from_host(uint8_t flags, const std::vector<uint8_t>& options) {
    Frame6 f;
    f.eth_src = kHostEth;
    f.eth_dst = kGwMac;
    f.src = kHost;
    f.dst = kGw;
    f.payload = nd_body(engine::kIcmp6NeighbourAdvert, kHost, flags, options);
    return f;
}

Icmp6Verdict read_na(const Frame6& f, engine::Advertisement& na) {
    rte_mbuf* m = to_mbuf(test_pool(), serialize6(f));
    const Icmp6Verdict v = engine::read_na(m, na);
    rte_pktmbuf_free(m);
    return v;
}

TEST(Ndp, AdvertisementIsReadForTheNeighbourTable) {
    engine::Advertisement na;
    ASSERT_EQ(verdict(read_na(na_from_host(0x40 | 0x20, lladdr_option(2, kHostLlao)), na)), "read");
    EXPECT_EQ(ip6_str(na.target), ip6_str(kHost));
    EXPECT_TRUE(na.has_target_mac);
    EXPECT_EQ(mac_str(na.target_mac), mac_str(kHostLlao));
    EXPECT_FALSE(na.router);
    EXPECT_TRUE(na.solicited);
    EXPECT_TRUE(na.override_flag);

    // A router's advertisement without the option: flags read, no MAC; a source option is not
    // the target's.
    ASSERT_EQ(verdict(read_na(na_from_host(0x80, lladdr_option(1, kHostLlao)), na)), "read");
    EXPECT_TRUE(na.router);
    EXPECT_FALSE(na.solicited);
    EXPECT_FALSE(na.override_flag);
    EXPECT_FALSE(na.has_target_mac);
}

TEST(Ndp, EveryInvalidAdvertisementIsDropped) {
    const std::vector<std::pair<const char*, std::function<void(Frame6&)>>> changes = {
        {"valid", [](Frame6&) {}},
        {"bad_hop_limit", [](Frame6& f) { f.hop_limit = 64; }},
        {"bad_code", [](Frame6& f) { f.payload[1] = 3; }},
        {"too_short", [](Frame6& f) { f.payload.resize(20); }},
        {"bad_checksum", [](Frame6& f) { f.fix_checksum = false; }},
        {"multicast_target", [](Frame6& f) { f.payload[8] = 0xff; }},
        {"bad_option_length", [](Frame6& f) { f.payload[25] = 0; }},
        {"solicited_to_multicast", [](Frame6& f) { f.dst = engine::kAllNodes; }},
        {"wrong_type", [](Frame6& f) { f.payload[0] = engine::kIcmp6NeighbourSolicit; }},
    };
    for (const auto& [expected, change] : changes) {
        Frame6 f = na_from_host(0x40, lladdr_option(2, kHostLlao));
        change(f);
        engine::Advertisement na;
        const std::string v = verdict(read_na(f, na));
        EXPECT_EQ(v, std::string(expected) == "valid" ? "read" : expected) << expected;
    }
}

TEST(Ndp, UnsolicitedAdvertisementAnnouncesAVipToAllNodes) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    ASSERT_TRUE(engine::build_unsolicited_na(m, kIface, kVip));
    const Out6 o = parse_out6(m);
    EXPECT_EQ(o.frame_len, engine::kNdFrameLen);
    EXPECT_EQ(mac_str(o.eth_dst), "33:33:00:00:00:01");
    EXPECT_EQ(mac_str(o.eth_src), mac_str(kGwMac));
    EXPECT_EQ(ip6_str(o.dst), "ff02::1");
    EXPECT_EQ(ip6_str(o.src), ip6_str(kVip));
    EXPECT_EQ(o.hop_limit, 255);
    EXPECT_TRUE(o.icmp6_csum_ok);
    const Na n = na_of(o);
    EXPECT_EQ(n.type, engine::kIcmp6NeighbourAdvert);
    EXPECT_EQ(n.flags, 0x80 | 0x20);  // router, override; never solicited
    EXPECT_EQ(ip6_str(n.target), ip6_str(kVip));
    EXPECT_EQ(n.opt_type, 2);
    EXPECT_EQ(mac_str(n.opt_mac), mac_str(kGwMac));
    // Another node accepts it and overrides its entry.
    engine::Advertisement na;
    ASSERT_EQ(verdict(engine::read_na(m, na)), "read");
    EXPECT_TRUE(na.override_flag);
    EXPECT_EQ(mac_str(na.target_mac), mac_str(kGwMac));
    rte_pktmbuf_free(m);
}

TEST(Ndp, MulticastAddressesFollowRfc4291And2464) {
    EXPECT_EQ(ip6_str(engine::solicited_node(ip6("2001:db8::aa:1234:5678"))), "ff02::1:ff34:5678");
    EXPECT_EQ(mac_str(engine::multicast_mac(ip6("ff02::1:ff34:5678"))), "33:33:ff:34:56:78");
    EXPECT_TRUE(net::ip6_is_multicast(ip6("ff05::2")));
    EXPECT_FALSE(net::ip6_is_multicast(ip6("fe80::1")));
}

TEST(Ndp, ChecksumHelperAgreesWithDpdk) {
    std::mt19937 rng(11);
    for (int i = 0; i < 500; ++i) {
        Frame6 f;
        for (auto& b : f.src.b) b = static_cast<uint8_t>(rng());
        for (auto& b : f.dst.b) b = static_cast<uint8_t>(rng());
        f.payload.resize(4 + rng() % 200);  // odd lengths too
        for (auto& b : f.payload) b = static_cast<uint8_t>(rng());
        const std::vector<uint8_t> frame = serialize6(f);  // checksum by DPDK
        auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(frame.data() + 14);
        EXPECT_EQ(engine::icmp6_checksum(ip->src_addr, ip->dst_addr, frame.data() + 54, f.payload.size()), 0) << i;
    }
}

}  // namespace
}  // namespace nfgate::test

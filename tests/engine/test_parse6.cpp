// The IPv6 parser (packet_parse6.hpp) and the IPv6 checksums (checksum6.hpp): one frame per
// case, built field by field with packet_builder6.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstring>
#include <random>

#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/packet_parse6.hpp"
#include "dataplane/net/checksum6.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/packet_builder.hpp"
#include "tests/engine/packet_builder6.hpp"

namespace nfgate::test {
namespace {

using namespace engine;
using Frame = std::vector<uint8_t>;

constexpr size_t kIp6 = sizeof(rte_ether_hdr);  // where the IPv6 header starts in a frame
constexpr size_t kFixed = sizeof(rte_ipv6_hdr);

// The parse of one frame; the mbuf stays alive with the result so pointers can be checked.
struct Parsed {
    rte_mbuf* m = nullptr;
    PacketMeta6 pm;
    Reason why{};
    bool ok = false;

    explicit Parsed(const Frame& f) {
        m = to_mbuf(test_pool(), f);
        if (m == nullptr) {
            ADD_FAILURE() << "mbuf allocation failed";
            return;
        }
        ok = parse_ipv6_packet(m, pm, why);
    }
    ~Parsed() { rte_pktmbuf_free(m); }
    Parsed(const Parsed&) = delete;
    Parsed& operator=(const Parsed&) = delete;

    size_t l4_off() const { return static_cast<size_t>(pm.l4 - reinterpret_cast<const uint8_t*>(pm.ip)); }
};

// A frame that must fail with `want`.
void expect_drop(const Frame& f, Reason want, const char* what) {
    Parsed p(f);
    EXPECT_FALSE(p.ok) << what;
    EXPECT_EQ(reason_name(p.why), reason_name(want)) << what;
}

void set_payload_len(Frame& f, size_t len) {
    f[kIp6 + 4] = static_cast<uint8_t>(len >> 8);
    f[kIp6 + 5] = static_cast<uint8_t>(len);
}

// Frame cut to `ip_bytes` bytes of IPv6 packet, its payload length made to agree.
Frame cut(const Frame& f, size_t ip_bytes) {
    Frame c(f.begin(), f.begin() + static_cast<long>(kIp6 + ip_bytes));
    if (ip_bytes >= kFixed) set_payload_len(c, ip_bytes - kFixed);
    return c;
}

const char* kClient = "2001:db8:100::7";
const char* kVip = "2001:db8:96::10";

TEST(EngineParse6, ClassifierKnowsIpv6AndKeepsTheOthers) {
    Reason r = Reason::count_;
    rte_mbuf* m = to_mbuf(test_pool(), serialize6(Pkt6::udp(kClient, 1, kVip, 53)));
    EXPECT_EQ(classify_l2(m, r), L3Kind::ipv6);
    EXPECT_EQ(r, Reason::count_);  // not touched: IPv6 is not a malformed frame
    rte_pktmbuf_free(m);
    m = to_mbuf(test_pool(), serialize(Pkt::udp("10.0.0.1", 1, "10.0.0.2", 53)));
    EXPECT_EQ(classify_l2(m, r), L3Kind::ipv4);
    rte_pktmbuf_free(m);
    Frame other = serialize(Pkt::udp("10.0.0.1", 1, "10.0.0.2", 53));
    other[12] = 0x86;  // 0x8600: no protocol the gateway knows
    m = to_mbuf(test_pool(), other);
    EXPECT_EQ(classify_l2(m, r), L3Kind::invalid);
    EXPECT_EQ(r, Reason::eth_unsupported_type);
    rte_pktmbuf_free(m);
}

TEST(EngineParse6, PlainTcpUdpIcmpv6) {
    {
        Parsed p(serialize6(Pkt6::tcp(kClient, 40000, kVip, 443, 0x12)));
        ASSERT_TRUE(p.ok) << reason_name(p.why);
        EXPECT_EQ(p.pm.proto, 6);
        EXPECT_EQ(rte_be_to_cpu_16(p.pm.sport), 40000);
        EXPECT_EQ(rte_be_to_cpu_16(p.pm.dport), 443);
        EXPECT_EQ(p.pm.tcp_flags, 0x12);
        EXPECT_EQ(p.pm.src, ip6(kClient));
        EXPECT_EQ(p.pm.dst, ip6(kVip));
        EXPECT_EQ(p.pm.hop_limit, 64);
        EXPECT_EQ(p.pm.payload_len, 20);
        EXPECT_EQ(p.pm.l4_len, 20);
        EXPECT_EQ(p.l4_off(), kFixed);
        EXPECT_EQ(p.pm.ext_count, 0);
        EXPECT_EQ(p.pm.frag_hdr_off, 0);
        EXPECT_FALSE(p.pm.fragment);
    }
    {
        Parsed p(serialize6(Pkt6::udp(kClient, 5353, kVip, 53)));
        ASSERT_TRUE(p.ok) << reason_name(p.why);
        EXPECT_EQ(p.pm.proto, 17);
        EXPECT_EQ(rte_be_to_cpu_16(p.pm.sport), 5353);
        EXPECT_EQ(rte_be_to_cpu_16(p.pm.dport), 53);
        EXPECT_EQ(p.pm.l4_len, 12);
    }
    {
        Parsed p(serialize6(Pkt6::echo(kClient, kVip, 0x4242)));
        ASSERT_TRUE(p.ok) << reason_name(p.why);
        EXPECT_EQ(p.pm.proto, 58);
        EXPECT_EQ(p.pm.icmp_type, 128);
        EXPECT_EQ(rte_be_to_cpu_16(p.pm.sport), 0x4242);
        EXPECT_EQ(p.pm.dport, p.pm.sport);
    }
    {
        // Neighbour solicitation to a solicited-node group: no identifier, ports stay zero; a
        // multicast destination is not the parser's to refuse.
        Pkt6 ns = Pkt6::echo("fe80::1", "ff02::1:ff00:10", 0x4242);
        ns.icmp_type = 135;
        Parsed p(serialize6(ns));
        ASSERT_TRUE(p.ok) << reason_name(p.why);
        EXPECT_EQ(p.pm.icmp_type, 135);
        EXPECT_EQ(p.pm.sport, 0);
        EXPECT_EQ(p.pm.dport, 0);
    }
}

TEST(EngineParse6, EachExtensionHeaderIsWalked) {
    struct Case {
        const char* name;
        Ext6 ext;
    };
    const Case cases[] = {
        {"hop_by_hop", Ext6::hop_by_hop()},
        {"hop_by_hop_24", Ext6::hop_by_hop(2)},
        {"dst_opts", Ext6::dst_opts()},
        {"dst_opts_16", Ext6::dst_opts(1)},
        {"routing_type4_done", Ext6::routing(4, 0, 2)},
        {"routing_type2_done", Ext6::routing(2, 0)},
        {"atomic_fragment", Ext6::fragment(0, false)},
    };
    for (const Case& c : cases) {
        Pkt6 p = Pkt6::tcp(kClient, 40000, kVip, 80);
        p.ext = {c.ext};
        Parsed r(serialize6(p));
        ASSERT_TRUE(r.ok) << c.name << ": " << reason_name(r.why);
        EXPECT_EQ(r.pm.proto, 6) << c.name;
        EXPECT_EQ(rte_be_to_cpu_16(r.pm.dport), 80) << c.name;
        EXPECT_EQ(r.pm.ext_count, 1) << c.name;
        EXPECT_EQ(r.l4_off(), kFixed + c.ext.bytes.size()) << c.name;
        EXPECT_EQ(r.pm.l4_len, 20) << c.name;
        EXPECT_EQ(r.pm.segments_left, 0) << c.name;
        EXPECT_FALSE(r.pm.fragment) << c.name;  // an atomic fragment is a whole packet (RFC 6946)
        EXPECT_EQ(r.pm.frag_hdr_off, c.ext.kind == 44 ? kFixed : 0) << c.name;
    }
}

TEST(EngineParse6, ChainOfEveryKind) {
    Pkt6 p = Pkt6::udp(kClient, 1000, kVip, 53);
    p.ext = {Ext6::hop_by_hop(), Ext6::dst_opts(1), Ext6::routing(4, 0), Ext6::fragment(0, true, 0xcafe0001),
             Ext6::dst_opts()};
    p.payload.assign(8, 'x');  // UDP 8 + 8: the fragmentable part a multiple of 8
    Parsed r(serialize6(p));
    ASSERT_TRUE(r.ok) << reason_name(r.why);
    EXPECT_EQ(r.pm.proto, 17);
    EXPECT_EQ(r.pm.ext_count, 5);
    EXPECT_EQ(rte_be_to_cpu_16(r.pm.sport), 1000);
    EXPECT_EQ(r.l4_off(), kFixed + 8 + 16 + 24 + 8 + 8);
    EXPECT_EQ(r.pm.frag_hdr_off, kFixed + 8 + 16 + 24);
    EXPECT_EQ(rte_be_to_cpu_32(r.pm.frag_id), 0xcafe0001u);
    EXPECT_TRUE(r.pm.fragment);
    EXPECT_TRUE(r.pm.more_fragments);
    EXPECT_FALSE(r.pm.later_fragment);
    EXPECT_EQ(r.pm.frag_offset, 0);
}

TEST(EngineParse6, FirstAndLaterFragments) {
    Pkt6 first = Pkt6::udp(kClient, 1000, kVip, 53);
    first.ext = {Ext6::hop_by_hop(), Ext6::fragment(0, true, 77)};
    first.payload.assign(1232, 'a');  // 8 + 1232 = 1240, a multiple of 8
    {
        Parsed r(serialize6(first));
        ASSERT_TRUE(r.ok) << reason_name(r.why);
        EXPECT_TRUE(r.pm.fragment);
        EXPECT_FALSE(r.pm.later_fragment);
        EXPECT_TRUE(r.pm.more_fragments);
        EXPECT_EQ(r.pm.frag_hdr_off, kFixed + 8);
        EXPECT_EQ(rte_be_to_cpu_32(r.pm.frag_id), 77u);
        EXPECT_EQ(rte_be_to_cpu_16(r.pm.dport), 53);
    }
    Pkt6 later = first;
    later.ext = {Ext6::hop_by_hop(), Ext6::fragment(155, false, 77)};
    later.l4_header = false;
    later.payload.assign(100, 'b');
    {
        Parsed r(serialize6(later));
        ASSERT_TRUE(r.ok) << reason_name(r.why);
        EXPECT_TRUE(r.pm.fragment);
        EXPECT_TRUE(r.pm.later_fragment);
        EXPECT_FALSE(r.pm.more_fragments);
        EXPECT_EQ(r.pm.frag_offset, 155);
        EXPECT_EQ(r.pm.proto, 17);  // the Next Header of the fragment header
        EXPECT_EQ(r.pm.sport, 0);
        EXPECT_EQ(r.pm.dport, 0);
        EXPECT_EQ(r.l4_off(), kFixed + 16);
        EXPECT_EQ(r.pm.l4_len, 100);
        EXPECT_EQ(r.pm.ext_count, 2);
    }
    // A later fragment's data is not a UDP header: zeros in it are not a zero checksum.
    later.payload.assign(16, 0);
    later.ext = {Ext6::fragment(1, true, 77)};
    Parsed r(serialize6(later));
    EXPECT_TRUE(r.ok) << reason_name(r.why);
}

TEST(EngineParse6, MalformedFragments) {
    Pkt6 p = Pkt6::udp(kClient, 1000, kVip, 53);
    p.ext = {Ext6::fragment(0, true)};
    p.payload.assign(4, 'a');  // 12 bytes with M set: not a multiple of 8
    expect_drop(serialize6(p), Reason::ip6_fragment_malformed, "M set, 12 bytes");
    p.ext = {Ext6::fragment(8190, false)};
    p.l4_header = false;
    p.payload.assign(32, 'a');  // 65520 + 32 > 65535
    expect_drop(serialize6(p), Reason::ip6_fragment_malformed, "past 65535");
    p.ext = {Ext6::fragment(0, true), Ext6::fragment(8, true)};
    p.payload.assign(16, 'a');
    expect_drop(serialize6(p), Reason::ip6_ext_misplaced, "two fragment headers");
    // RFC 7112: a first fragment whose chain stops before the whole TCP header.
    Pkt6 t = Pkt6::tcp(kClient, 1, kVip, 2);
    t.ext = {Ext6::fragment(0, true)};
    Frame f = serialize6(t);
    expect_drop(cut(f, kFixed + 8 + 16), Reason::ip6_first_fragment_incomplete, "TCP header cut");
    t.ext = {Ext6::fragment(0, true), Ext6::dst_opts(1)};
    f = serialize6(t);
    expect_drop(cut(f, kFixed + 8 + 8), Reason::ip6_first_fragment_incomplete, "chain cut");
}

TEST(EngineParse6, RoutingHeaders) {
    Pkt6 p = Pkt6::tcp(kClient, 40000, kVip, 80);
    p.ext = {Ext6::routing(0, 0)};
    expect_drop(serialize6(p), Reason::ip6_routing_type0, "type 0, segments left 0");
    p.ext = {Ext6::routing(0, 1)};
    expect_drop(serialize6(p), Reason::ip6_routing_type0, "type 0, segments left 1");
    p.ext = {Ext6::hop_by_hop(), Ext6::dst_opts(), Ext6::routing(0, 2, 2)};
    expect_drop(serialize6(p), Reason::ip6_routing_type0, "type 0 deep in a chain");

    // An unknown type with nothing left to do is ignored (RFC 8200 4.4).
    p.ext = {Ext6::routing(253, 0)};
    {
        Parsed r(serialize6(p));
        ASSERT_TRUE(r.ok) << reason_name(r.why);
        EXPECT_EQ(r.pm.segments_left, 0);
        EXPECT_EQ(r.pm.routing_off, 0);
        Reason why = Reason::count_;
        EXPECT_TRUE(routing_header_allows(r.pm, true, why));
    }
    // Segments left: reported, forwarded untouched, refused when local or translated.
    p.ext = {Ext6::hop_by_hop(), Ext6::routing(253, 2, 2)};
    {
        Parsed r(serialize6(p));
        ASSERT_TRUE(r.ok) << reason_name(r.why);
        EXPECT_EQ(r.pm.segments_left, 2);
        EXPECT_EQ(r.pm.routing_off, kFixed + 8);
        EXPECT_EQ(rte_be_to_cpu_16(r.pm.dport), 80);
        Reason why = Reason::count_;
        EXPECT_TRUE(routing_header_allows(r.pm, false, why));
        EXPECT_EQ(why, Reason::count_);
        EXPECT_FALSE(routing_header_allows(r.pm, true, why));
        EXPECT_EQ(why, Reason::ip6_routing_segments_left);
    }
    // Two routing headers (RFC 8200 4.1: accepted): the first still to be followed is reported.
    p.ext = {Ext6::routing(4, 0), Ext6::routing(4, 3, 3)};
    Parsed r(serialize6(p));
    ASSERT_TRUE(r.ok) << reason_name(r.why);
    EXPECT_EQ(r.pm.segments_left, 3);
    EXPECT_EQ(r.pm.routing_off, kFixed + 24);
}

TEST(EngineParse6, HopByHopOnlyFirst) {
    Pkt6 p = Pkt6::tcp(kClient, 1, kVip, 2);
    p.ext = {Ext6::dst_opts(), Ext6::hop_by_hop()};
    expect_drop(serialize6(p), Reason::ip6_ext_misplaced, "hop-by-hop second");
    p.ext = {Ext6::hop_by_hop(), Ext6::hop_by_hop()};
    expect_drop(serialize6(p), Reason::ip6_ext_misplaced, "hop-by-hop twice");
}

TEST(EngineParse6, ChainLimits) {
    Pkt6 p = Pkt6::tcp(kClient, 1, kVip, 2);
    p.ext.assign(kMaxIp6ExtHeaders, Ext6::dst_opts());
    {
        Parsed r(serialize6(p));
        ASSERT_TRUE(r.ok) << reason_name(r.why);
        EXPECT_EQ(r.pm.ext_count, kMaxIp6ExtHeaders);
    }
    p.ext.push_back(Ext6::dst_opts());
    expect_drop(serialize6(p), Reason::ip6_ext_chain_too_long, "9 headers");
    // Upper layer at byte 256 exactly: allowed; at 264: refused.
    p.ext = {Ext6::hop_by_hop(25), Ext6::dst_opts()};  // 208 + 8: TCP at 40 + 216 = 256
    {
        Parsed r(serialize6(p));
        ASSERT_TRUE(r.ok) << reason_name(r.why);
        EXPECT_EQ(r.l4_off(), kMaxIp6ChainBytes);
    }
    p.ext = {Ext6::hop_by_hop(25), Ext6::dst_opts(1)};
    expect_drop(serialize6(p), Reason::ip6_ext_chain_too_long, "upper layer at 264");
    p.ext = {Ext6::hop_by_hop(27), Ext6::dst_opts()};  // the second header starts at 40 + 224 = 264
    expect_drop(serialize6(p), Reason::ip6_ext_chain_too_long, "header past 256");
}

TEST(EngineParse6, AhEspNoNextHeaderEndTheWalk) {
    for (uint8_t proto : {net::kProtoEsp, net::kProtoAh, net::kProtoNoNext, uint8_t(132) /* SCTP */}) {
        Pkt6 p = Pkt6::tcp(kClient, 1, kVip, 2);
        p.proto = proto;
        p.ext = {Ext6::dst_opts()};
        p.payload.assign(proto == net::kProtoNoNext ? 0 : 24, 0x55);
        Parsed r(serialize6(p));
        ASSERT_TRUE(r.ok) << int(proto) << ": " << reason_name(r.why);
        EXPECT_EQ(r.pm.proto, proto);
        EXPECT_EQ(r.pm.sport, 0) << int(proto);
        EXPECT_EQ(r.pm.dport, 0) << int(proto);
        EXPECT_EQ(r.l4_off(), kFixed + 8) << int(proto);
    }
}

TEST(EngineParse6, TruncatedAtEveryBoundary) {
    // Every length short of the whole packet, payload length made to agree with the cut: the
    // reason names the header that was cut.
    Pkt6 p = Pkt6::tcp(kClient, 1, kVip, 2);
    p.ext = {Ext6::hop_by_hop(), Ext6::dst_opts(1), Ext6::routing(4, 0)};
    const Frame whole = serialize6(p);
    const size_t chain_end = kFixed + 8 + 16 + 24;
    for (size_t n = 0; n < whole.size() - kIp6; ++n) {
        const Reason want = n < kFixed      ? Reason::ip6_truncated
                            : n < chain_end ? Reason::ip6_ext_truncated
                                            : Reason::l4_truncated;
        expect_drop(cut(whole, n), want, ("cut at " + std::to_string(n)).c_str());
    }
    // The frame cut but the payload length left as it was: longer than the frame.
    for (size_t n = kFixed; n < whole.size() - kIp6; n += 7) {
        const Frame f(whole.begin(), whole.begin() + static_cast<long>(kIp6 + n));
        expect_drop(f, Reason::ip6_bad_payload_length, ("frame cut at " + std::to_string(n)).c_str());
    }
    Parsed r(whole);
    EXPECT_TRUE(r.ok) << reason_name(r.why);
}

TEST(EngineParse6, FixedHeaderChecks) {
    Pkt6 p = Pkt6::udp(kClient, 1, kVip, 2);
    Pkt6 v4 = p;
    v4.version = 4;
    expect_drop(serialize6(v4), Reason::ip6_bad_version, "version 4");
    Frame f = serialize6(p);
    set_payload_len(f, 13);
    expect_drop(f, Reason::ip6_bad_payload_length, "13 of 12");
    // Ethernet padding after the packet is trimmed off.
    f = serialize6(p);
    const size_t len = f.size();
    f.resize(len + 10, 0);
    Parsed r(f);
    ASSERT_TRUE(r.ok) << reason_name(r.why);
    EXPECT_EQ(r.m->data_len, len);
    // Payload length 0, Next Header TCP: no room for the TCP header.
    Frame empty(f.begin(), f.begin() + static_cast<long>(kIp6 + kFixed));
    set_payload_len(empty, 0);
    empty[kIp6 + 6] = 6;
    expect_drop(empty, Reason::l4_truncated, "payload length 0");
    empty[kIp6 + 6] = net::kProtoHopOpts;  // a jumbogram's hop-by-hop header would be here
    expect_drop(empty, Reason::ip6_ext_truncated, "jumbogram");
}

TEST(EngineParse6, MartianAddresses) {
    for (const char* s : {"::", "::1", "ff02::1", "ff05::2"}) {
        Pkt6 p = Pkt6::udp(s, 1, kVip, 2);
        expect_drop(serialize6(p), Reason::ip6_martian_source, s);
    }
    for (const char* d : {"::", "::1"}) {
        Pkt6 p = Pkt6::udp(kClient, 1, d, 2);
        expect_drop(serialize6(p), Reason::ip6_martian_destination, d);
    }
    for (const char* ok : {"::2", "1::1", "fe80::1", "::ffff:10.0.0.1"}) {
        Parsed r(serialize6(Pkt6::udp(ok, 1, kVip, 2)));
        EXPECT_TRUE(r.ok) << ok << ": " << reason_name(r.why);
    }
}

TEST(EngineParse6, ZeroUdpChecksumDropped) {
    Pkt6 p = Pkt6::udp(kClient, 1, kVip, 2);
    p.udp_csum = false;
    expect_drop(serialize6(p), Reason::ip6_udp_zero_checksum, "plain");
    p.ext = {Ext6::hop_by_hop(), Ext6::fragment(0, true)};
    p.payload.assign(8, 'z');
    expect_drop(serialize6(p), Reason::ip6_udp_zero_checksum, "first fragment");
}

// ---- checksum6.hpp ----

TEST(EngineChecksum6, FullChecksumMatchesReferenceAndDpdk) {
    std::mt19937 rng(11);
    for (int i = 0; i < 500; ++i) {
        Pkt6 p = i % 2 ? Pkt6::tcp(kClient, 1, kVip, 2) : Pkt6::udp(kClient, 1, kVip, 2);
        for (auto& b : p.src.b) b = static_cast<uint8_t>(rng());
        for (auto& b : p.dst.b) b = static_cast<uint8_t>(rng());
        p.sport = static_cast<uint16_t>(rng());
        p.payload.resize(rng() % 61);  // odd lengths too
        for (auto& b : p.payload) b = static_cast<uint8_t>(rng());
        Frame f = serialize6(p);
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(f.data() + kIp6);
        uint8_t* l4 = f.data() + kIp6 + kFixed;
        const uint32_t len = rte_be_to_cpu_16(ip->payload_len);
        const size_t at = p.proto == 6 ? 16 : 6;
        uint16_t stored;
        std::memcpy(&stored, l4 + at, 2);
        EXPECT_TRUE(net::ip6_l4_checksum_ok(p.src, p.dst, p.proto, l4, len)) << i;
        std::memset(l4 + at, 0, 2);
        EXPECT_EQ(net::ip6_l4_checksum(p.src, p.dst, p.proto, l4, len), stored) << i;
        EXPECT_EQ(rte_ipv6_udptcp_cksum(ip, l4), stored) << i;
        std::memcpy(l4 + at, &stored, 2);
        l4[len - 1] ^= 0x01;  // one bit anywhere breaks it
        EXPECT_FALSE(net::ip6_l4_checksum_ok(p.src, p.dst, p.proto, l4, len)) << i;
    }
}

TEST(EngineChecksum6, UdpZeroIsSentAsAllOnesAndNeverValid) {
    // Choose the last payload word so the sum is all ones: the computed checksum is zero.
    Pkt6 p = Pkt6::udp(kClient, 1, kVip, 2);
    p.payload = {0, 0};
    Frame f = serialize6(p);
    uint8_t* l4 = f.data() + kIp6 + kFixed;
    const uint32_t len = 10;
    std::memset(l4 + 6, 0, 2);
    const uint16_t folded = net::csum_fold(net::csum_partial(l4, len, net::ip6_pseudo_sum(p.src, p.dst, len, 17)));
    const uint16_t fill = static_cast<uint16_t>(0xffff - folded);
    std::memcpy(l4 + 8, &fill, 2);
    EXPECT_EQ(net::ip6_l4_checksum(p.src, p.dst, 17, l4, len), 0xffff);
    const uint16_t ones = 0xffff;
    std::memcpy(l4 + 6, &ones, 2);
    EXPECT_TRUE(net::ip6_l4_checksum_ok(p.src, p.dst, 17, l4, len));
    std::memset(l4 + 6, 0, 2);
    EXPECT_FALSE(net::ip6_l4_checksum_ok(p.src, p.dst, 17, l4, len));  // sums right, still refused
    // The incremental update never yields zero for UDP either.
    EXPECT_EQ(net::csum_apply(0x0001, 0x0001), 0x0000);  // what the rule replaces
    EXPECT_EQ(net::udp6_csum_apply(0x0001, 0x0001), 0xffff);
}

// NAT66: a rewrite of both addresses and both ports, its checksum updated with the RFC 1624
// deltas, equals a full recompute over the rewritten packet. ICMPv6, unlike ICMP, covers the
// pseudo-header: its addresses count too.
TEST(EngineChecksum6, IncrementalUpdateMatchesFullRecompute) {
    std::mt19937 rng(1624);
    auto random_addr = [&] {
        net::Ip6Addr a;
        for (auto& b : a.b) b = static_cast<uint8_t>(rng());
        a.b[0] = static_cast<uint8_t>(0x20 | (a.b[0] & 0x1f));  // global unicast 2000::/3: no martian
        return a;
    };
    for (int i = 0; i < 3000; ++i) {
        const uint8_t proto = i % 3 == 0 ? 6 : i % 3 == 1 ? 17 : 58;
        Pkt6 p = proto == 6 ? Pkt6::tcp(kClient, 1, kVip, 2) : proto == 17 ? Pkt6::udp(kClient, 1, kVip, 2)
                                                                             : Pkt6::echo(kClient, kVip, 1);
        p.src = random_addr();
        p.dst = random_addr();
        p.sport = static_cast<uint16_t>(rng());
        p.dport = proto == 58 ? p.sport : static_cast<uint16_t>(rng());
        p.payload.resize(8 + rng() % 40);
        for (auto& b : p.payload) b = static_cast<uint8_t>(rng());
        Frame f = serialize6(p);
        Parsed r(f);
        ASSERT_TRUE(r.ok) << i << ": " << reason_name(r.why);

        const net::Ip6Addr new_src = random_addr(), new_dst = random_addr();
        const uint16_t new_sport = static_cast<uint16_t>(rng());
        const uint16_t new_dport = proto == 58 ? new_sport : static_cast<uint16_t>(rng());
        net::CsumDelta d;
        net::csum_delta_add_ip6(d, r.pm.src, new_src);
        net::csum_delta_add_ip6(d, r.pm.dst, new_dst);
        uint8_t* l4 = r.pm.l4;
        const size_t csum_at = proto == 6 ? 16 : proto == 17 ? 6 : 2;
        if (proto == 58) {
            d.add16(r.pm.sport, rte_cpu_to_be_16(new_sport));
            const uint16_t id = rte_cpu_to_be_16(new_sport);
            std::memcpy(l4 + 4, &id, 2);
        } else {
            d.add16(r.pm.sport, rte_cpu_to_be_16(new_sport));
            d.add16(r.pm.dport, rte_cpu_to_be_16(new_dport));
            const uint16_t ports[2] = {rte_cpu_to_be_16(new_sport), rte_cpu_to_be_16(new_dport)};
            std::memcpy(l4, ports, 4);
        }
        std::memcpy(r.pm.ip->src_addr, new_src.b.data(), 16);
        std::memcpy(r.pm.ip->dst_addr, new_dst.b.data(), 16);
        uint16_t c;
        std::memcpy(&c, l4 + csum_at, 2);
        c = proto == 17 ? net::udp6_csum_apply(c, d) : net::csum_apply(c, d);
        std::memcpy(l4 + csum_at, &c, 2);

        EXPECT_TRUE(net::ip6_l4_checksum_ok(new_src, new_dst, proto, l4, r.pm.l4_len)) << i;
        std::memset(l4 + csum_at, 0, 2);
        const uint16_t full = net::ip6_l4_checksum(new_src, new_dst, proto, l4, r.pm.l4_len);
        // 0x0000 and 0xffff are the same one's complement zero; only UDP tells them apart.
        auto norm = [&](uint16_t v) { return proto != 17 && v == 0xffff ? uint16_t(0) : v; };
        EXPECT_EQ(norm(c), norm(full)) << i;
        EXPECT_EQ(full, reference_l4_checksum6(new_src, new_dst, proto, l4, r.pm.l4_len) == 0 && proto == 17
                            ? uint16_t(0xffff)
                            : reference_l4_checksum6(new_src, new_dst, proto, l4, r.pm.l4_len))
            << i;
    }
}

}  // namespace
}  // namespace nfgate::test

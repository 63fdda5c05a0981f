// ICMPv6 answers on the fast path (dataplane/engine/icmp6_answer.hpp): echo replies for the
// gateway's addresses, the errors a router sends with as much of the offending packet as fits
// in 1280 bytes, and every packet RFC 4443 2.4 (e) forbids answering.
#include <gtest/gtest.h>

#include <functional>

#include "dataplane/engine/icmp6_answer.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"

namespace nfgate::test {
namespace {

using engine::Icmp6Error;
using engine::Icmp6Verdict;
using engine::Ip6;

const rte_ether_addr kGwMac{{0x02, 0, 0, 0, 0, 0x01}};
const rte_ether_addr kPeerMac{{0x02, 0, 0, 0, 0xc1, 0x01}};  // the client, or the router in front of it
const Ip6 kGw = ip6("2001:db8:1::1");
const Ip6 kClient = ip6("2001:db8:99::7");
const Ip6 kBackend = ip6("2001:db8:2::20");

std::string verdict(Icmp6Verdict v) { return std::string(engine::icmp6_verdict_name(v)); }

struct Result {
    Icmp6Verdict v;
    Out6 out;
    uint16_t nb_segs = 0;
};

Result run(const std::vector<uint8_t>& frame, const std::function<Icmp6Verdict(rte_mbuf*)>& f) {
    rte_mbuf* m = to_mbuf(test_pool(), frame);
    EXPECT_NE(m, nullptr);
    Result r;
    r.v = f(m);
    r.out = parse_out6(m);
    r.nb_segs = m->nb_segs;
    rte_pktmbuf_free(m);
    return r;
}

Result echo(const Frame6& f) {
    return run(serialize6(f), [](rte_mbuf* m) { return engine::make_echo6_reply(m, kGwMac); });
}
Result error(const Frame6& f, const Icmp6Error& e) {
    return run(serialize6(f), [&](rte_mbuf* m) { return engine::make_icmp6_error(m, e, kGw, kGwMac); });
}

Frame6 echo_request(const std::vector<uint8_t>& data) {
    Frame6 f;
    f.eth_src = kPeerMac;
    f.eth_dst = kGwMac;
    f.src = kClient;
    f.dst = kGw;
    f.hop_limit = 61;
    f.traffic_class = 0x28;
    f.payload = icmp6_body(engine::kIcmp6EchoRequest, 0, 0x1234'0007, data);  // id 0x1234, seq 7
    return f;
}

// A UDP datagram of `payload_len` IPv6 payload bytes from the client toward a backend.
Frame6 udp_from_client(size_t payload_len) {
    Frame6 f;
    f.eth_src = kPeerMac;
    f.eth_dst = kGwMac;
    f.src = kClient;
    f.dst = kBackend;
    f.hop_limit = 1;
    f.next_header = 17;
    f.payload.resize(payload_len);
    for (size_t i = 0; i < payload_len; ++i) f.payload[i] = static_cast<uint8_t>(i * 7 + 3);
    return f;
}

// The header and quote of an error message.
struct Err {
    uint8_t type, code;
    uint32_t param;
    std::vector<uint8_t> quote;
};
Err err_of(const Out6& o) {
    Err e{};
    if (o.payload.size() < 8) return e;
    e.type = o.payload[0];
    e.code = o.payload[1];
    e.param = uint32_t{o.payload[4]} << 24 | uint32_t{o.payload[5]} << 16 | uint32_t{o.payload[6]} << 8 | o.payload[7];
    e.quote.assign(o.payload.begin() + 8, o.payload.end());
    return e;
}

// The IPv6 packet inside `frame` (no Ethernet header, no padding).
std::vector<uint8_t> ip_packet(const std::vector<uint8_t>& frame, size_t padding = 0) {
    return {frame.begin() + 14, frame.end() - static_cast<std::ptrdiff_t>(padding)};
}

TEST(Icmp6Answer, EchoRequestToUsIsAnsweredWithItsDataUnchanged) {
    Frame6 f = echo_request({'p', 'i', 'n', 'g', '!'});  // odd length: the checksum's last byte
    f.eth_padding = 10;
    const Result r = echo(f);
    ASSERT_EQ(verdict(r.v), "answered");
    const Out6& o = r.out;
    EXPECT_EQ(o.frame_len, 14u + 40 + 13);  // the padding is gone
    EXPECT_EQ(mac_str(o.eth_dst), mac_str(kPeerMac));
    EXPECT_EQ(mac_str(o.eth_src), mac_str(kGwMac));
    EXPECT_EQ(ip6_str(o.src), ip6_str(kGw));
    EXPECT_EQ(ip6_str(o.dst), ip6_str(kClient));
    EXPECT_EQ(o.hop_limit, 64);
    EXPECT_EQ(o.traffic_class, 0x28);
    EXPECT_EQ(o.payload_len, 13);
    EXPECT_EQ(o.next_header, engine::kProtoIcmp6);
    EXPECT_TRUE(o.icmp6_csum_ok);
    std::vector<uint8_t> expected = f.payload;
    expected[0] = engine::kIcmp6EchoReply;
    ASSERT_EQ(o.payload.size(), expected.size());
    EXPECT_TRUE(std::equal(o.payload.begin() + 4, o.payload.end(), expected.begin() + 4));  // id, seq, data
    EXPECT_EQ(o.payload[0], engine::kIcmp6EchoReply);
    EXPECT_EQ(o.payload[1], 0);
}

TEST(Icmp6Answer, EchoRequestsThatGetNoReply) {
    const std::vector<std::pair<const char*, std::function<void(Frame6&)>>> cases = {
        {"answered", [](Frame6&) {}},
        {"not_answerable", [](Frame6& f) { f.dst = engine::kAllNodes; }},  // to a group
        {"not_answerable", [](Frame6& f) { f.src = Ip6{}; }},              // from nobody
        {"not_answerable", [](Frame6& f) { f.src = ip6("ff02::2"); }},     // from a group
        {"bad_checksum", [](Frame6& f) { f.fix_checksum = false; }},
        {"bad_code", [](Frame6& f) { f.payload[1] = 1; }},
        {"too_short", [](Frame6& f) { f.payload.resize(6); }},
        {"wrong_type", [](Frame6& f) { f.payload[0] = engine::kIcmp6EchoReply; }},
        {"malformed", [](Frame6& f) { f.next_header = 0; }},  // behind an extension header
    };
    for (const auto& [expected, change] : cases) {
        Frame6 f = echo_request({1, 2, 3, 4});
        change(f);
        EXPECT_EQ(verdict(echo(f).v), expected);
    }
}

void expect_error_to_client(const Result& r, const std::vector<uint8_t>& quoted_packet, uint8_t type, uint8_t code,
                            uint32_t param) {
    ASSERT_EQ(verdict(r.v), "answered");
    const Out6& o = r.out;
    EXPECT_EQ(o.frame_len, 14u + 40 + 8 + quoted_packet.size());
    EXPECT_EQ(mac_str(o.eth_dst), mac_str(kPeerMac));
    EXPECT_EQ(mac_str(o.eth_src), mac_str(kGwMac));
    EXPECT_EQ(o.version, 6);
    EXPECT_EQ(ip6_str(o.src), ip6_str(kGw));
    EXPECT_EQ(ip6_str(o.dst), ip6_str(kClient));
    EXPECT_EQ(o.hop_limit, 64);
    EXPECT_EQ(o.next_header, engine::kProtoIcmp6);
    EXPECT_EQ(o.payload_len, 8 + quoted_packet.size());
    EXPECT_TRUE(o.icmp6_csum_ok);
    const Err e = err_of(o);
    EXPECT_EQ(e.type, type);
    EXPECT_EQ(e.code, code);
    EXPECT_EQ(e.param, param);
    EXPECT_EQ(e.quote, quoted_packet);
}

TEST(Icmp6Answer, PortUnreachableQuotesTheWholeSmallPacket) {
    Frame6 f = udp_from_client(20);
    f.eth_padding = 6;
    const std::vector<uint8_t> in = serialize6(f);
    expect_error_to_client(error(f, engine::kPortUnreachable6), ip_packet(in, 6), 1, 4, 0);
}

TEST(Icmp6Answer, HopLimitExceeded) {
    const Frame6 f = udp_from_client(100);
    expect_error_to_client(error(f, engine::kHopLimitExceeded6), ip_packet(serialize6(f)), 3, 0, 0);
}

TEST(Icmp6Answer, PacketTooBigCarriesTheMtuAndFitsIn1280Bytes) {
    const Frame6 f = udp_from_client(1500 - 40);  // a full 1500-byte packet toward a 1400-byte link
    ASSERT_TRUE(engine::too_big_for_link(40 + 1460, 1400));
    EXPECT_FALSE(engine::too_big_for_link(1400, 1400));
    const std::vector<uint8_t> packet = ip_packet(serialize6(f));
    const std::vector<uint8_t> quote(packet.begin(), packet.begin() + 1232);
    const Result r = error(f, engine::packet_too_big6(1400));
    expect_error_to_client(r, quote, 2, 0, 1400);
    EXPECT_EQ(r.out.frame_len, 14u + engine::kIpv6MinMtu);
    EXPECT_EQ(engine::icmp6_quote_len(1232), 1232u);
    EXPECT_EQ(engine::icmp6_quote_len(1233), 1232u);
}

TEST(Icmp6Answer, PacketTooBigForAJumboPacketQuotesItsFirstSegment) {
    const Frame6 f = udp_from_client(2000);  // 2054-byte frame from a jumbo link
    const std::vector<uint8_t> in = serialize6(f);
    // 600 bytes in the first segment, the rest chained behind it.
    rte_mbuf* m = to_mbuf(test_pool(), std::vector<uint8_t>(in.begin(), in.begin() + 600));
    rte_mbuf* tail = to_mbuf(test_pool(), std::vector<uint8_t>(in.begin() + 600, in.end()));
    ASSERT_NE(m, nullptr);
    ASSERT_NE(tail, nullptr);
    ASSERT_EQ(rte_pktmbuf_chain(m, tail), 0);
    Result r;
    r.v = engine::make_icmp6_error(m, engine::packet_too_big6(1500), kGw, kGwMac);
    r.out = parse_out6(m);
    EXPECT_EQ(m->nb_segs, 1);
    EXPECT_EQ(m->pkt_len, m->data_len);
    rte_pktmbuf_free(m);
    expect_error_to_client(r, std::vector<uint8_t>(in.begin() + 14, in.begin() + 600), 2, 0, 1500);
}

// RFC 4443 2.4 (e): each row is the one change to a packet that gets port unreachable (first
// row) or packet too big; "not_answerable" rows must get nothing.
struct NoError {
    const char* name;
    std::function<void(Frame6&)> change;
    Icmp6Error error;
    const char* verdict;
};

// The offending packet is an ICMPv6 message of `type` from the client.
void icmp6_of_type(Frame6& f, uint8_t type) {
    f.next_header = engine::kProtoIcmp6;
    f.payload = icmp6_body(type, 0, 0, std::vector<uint8_t>(40, 0));
}

// The same behind an options header (hop-by-hop 0 or destination 60; 8 bytes: next header,
// length 0, PadN).
void behind_options(Frame6& f, uint8_t type, uint8_t header = 0) {
    icmp6_of_type(f, type);
    std::vector<uint8_t> p = {engine::kProtoIcmp6, 0, 1, 4, 0, 0, 0, 0};
    p.resize(8 + f.payload.size());
    std::copy(f.payload.begin(), f.payload.end(), p.begin() + 8);
    f.payload = p;
    f.next_header = header;
    f.fix_checksum = false;
}

TEST(Icmp6Answer, NoErrorWhereRfc4443Forbids) {
    const Icmp6Error pu = engine::kPortUnreachable6;
    const Icmp6Error ptb = engine::packet_too_big6(1280);
    const std::vector<NoError> cases = {
        {"a UDP packet", [](Frame6&) {}, pu, "answered"},
        {"an ICMPv6 error", [](Frame6& f) { icmp6_of_type(f, engine::kIcmp6DestUnreachable); }, pu, "not_answerable"},
        {"an ICMPv6 error, too big", [](Frame6& f) { icmp6_of_type(f, engine::kIcmp6PacketTooBig); }, ptb,
         "not_answerable"},
        {"a redirect", [](Frame6& f) { icmp6_of_type(f, engine::kIcmp6Redirect); }, pu, "not_answerable"},
        {"an ICMPv6 error behind hop-by-hop options",
         [](Frame6& f) { behind_options(f, engine::kIcmp6TimeExceeded); }, pu, "not_answerable"},
        {"an ICMPv6 error behind destination options",
         [](Frame6& f) { behind_options(f, engine::kIcmp6TimeExceeded, 60); }, pu, "not_answerable"},
        {"an echo request", [](Frame6& f) { icmp6_of_type(f, engine::kIcmp6EchoRequest); }, pu, "answered"},
        {"an echo request behind hop-by-hop options",
         [](Frame6& f) { behind_options(f, engine::kIcmp6EchoRequest); }, pu, "answered"},
        {"an ICMPv6 header cut before its type",
         [](Frame6& f) {
             f.next_header = engine::kProtoIcmp6;
             f.payload.clear();
         },
         pu, "not_answerable"},
        {"a later fragment (no upper-layer header to read)",
         [](Frame6& f) {
             // Offset 181 * 8; its data would read as a Destination Unreachable if taken for a header.
             f.payload = {engine::kProtoIcmp6, 0, 0x05, 0xa8, 0, 0, 0, 1, 0x01, 0xbb};
             f.next_header = 44;
         },
         pu, "answered"},
        {"to a multicast group", [](Frame6& f) { f.dst = ip6("ff0e::101"); }, pu, "not_answerable"},
        {"to a multicast group, too big", [](Frame6& f) { f.dst = ip6("ff0e::101"); }, ptb, "answered"},
        {"as a link-layer multicast", [](Frame6& f) { f.eth_dst = rte_ether_addr{{0x33, 0x33, 0, 0, 0, 1}}; }, pu,
         "not_answerable"},
        {"as a link-layer broadcast", [](Frame6& f) { f.eth_dst = rte_ether_addr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; },
         pu, "not_answerable"},
        {"as a link-layer broadcast, too big",
         [](Frame6& f) { f.eth_dst = rte_ether_addr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }, ptb, "answered"},
        {"from the unspecified address", [](Frame6& f) { f.src = Ip6{}; }, ptb, "not_answerable"},
        {"from a multicast address", [](Frame6& f) { f.src = ip6("ff02::1"); }, ptb, "not_answerable"},
        {"from loopback", [](Frame6& f) { f.src = ip6("::1"); }, pu, "not_answerable"},
        {"a packet with no payload", [](Frame6& f) { f.payload.clear(); }, pu, "answered"},
    };
    for (const NoError& c : cases) {
        Frame6 f = udp_from_client(32);
        c.change(f);
        EXPECT_EQ(verdict(error(f, c.error).v), c.verdict) << c.name;
    }
    // A frame that is not IPv6 at all.
    const std::vector<uint8_t> arp = arp_frame(1, kPeerMac, ip("192.0.2.9"), rte_ether_addr{}, ip("192.0.2.1"), kGwMac);
    EXPECT_EQ(verdict(run(arp, [](rte_mbuf* m) { return engine::make_icmp6_error(m, engine::kPortUnreachable6, kGw,
                                                                                  kGwMac); }).v),
              "malformed");
}

}  // namespace
}  // namespace nfgate::test

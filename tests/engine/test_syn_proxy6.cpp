// The SYN proxy for IPv6 frontends (dataplane/engine/syn_proxy.hpp, both families): a SYN is
// answered with a cookie and makes no flow, a returned cookie opens the backend connection
// through NAT66, and the rest of the connection runs with its sequence numbers shifted.
#include <gtest/gtest.h>

#include <rte_byteorder.h>

#include "dataplane/engine/syn_cookie.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"

namespace nfgate::test {
namespace {

using engine::Ip6;
using engine::Reason;

constexpr uint32_t kIsn = 0x20000000;
constexpr uint8_t kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

// What left, read as a TCP segment over IPv6, its checksum checked against the reference sum.
struct Seg {
    uint16_t port = 0;
    Out6 o;
    uint16_t sport = 0, dport = 0, mss = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;
    size_t data = 0;  // bytes after the TCP header
    bool csum_ok = false;
};

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
    return uint32_t{b.at(at)} << 24 | uint32_t{b.at(at + 1)} << 16 | uint32_t{b.at(at + 2)} << 8 | b.at(at + 3);
}

Seg only_segment(Lab& lab) {
    Seg s;
    if (lab.io.sent.size() != 1) {
        ADD_FAILURE() << lab.io.sent.size() << " frames sent, want 1";
        return s;
    }
    s.port = lab.io.sent[0].port;
    s.o = parse_out6(lab.io.sent[0].m);
    std::vector<uint8_t> l4 = s.o.payload;
    if (s.o.next_header != 6 || l4.size() < 20) {
        ADD_FAILURE() << "not a TCP segment right after the IPv6 header";
        return s;
    }
    s.sport = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
    s.dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
    s.seq = be32(l4, 4);
    s.ack = be32(l4, 8);
    s.flags = l4[13];
    const size_t hdr = (l4[12] >> 4) * 4u;
    for (size_t i = 20; i + 3 < hdr && i + 3 < l4.size(); ++i)
        if (l4[i] == 2 && l4[i + 1] == 4) s.mss = static_cast<uint16_t>(l4[i + 2] << 8 | l4[i + 3]);
    s.data = l4.size() > hdr ? l4.size() - hdr : 0;
    const uint16_t field = static_cast<uint16_t>(l4[16] << 8 | l4[17]);
    l4[16] = l4[17] = 0;
    const uint16_t want = rte_be_to_cpu_16(reference_l4_checksum6(s.o.src, s.o.dst, 6, l4.data(), l4.size()));
    s.csum_ok = field == want && s.o.payload_len == s.o.payload.size();
    return s;
}

std::vector<uint8_t> from_client(uint8_t flags, uint32_t seq, uint32_t ack, std::vector<uint8_t> data = {},
                                 std::vector<uint8_t> options = {}, uint16_t port = 41000) {
    Pkt6 p = Pkt6::tcp("::1", port, "::1", 80, flags);
    p.src = kClient6;
    p.dst = kVip6;
    p.seq = seq;
    p.ack = ack;
    p.payload = std::move(data);
    p.tcp_options = std::move(options);
    p.eth_dst = kExtMac;
    p.eth_src = kClientMac;
    return serialize6(p);
}

std::vector<uint8_t> from_backend(const Seg& syn, uint8_t flags, uint32_t seq, uint32_t ack, std::vector<uint8_t> data = {}) {
    Pkt6 p = Pkt6::tcp("::1", syn.dport, "::1", syn.sport, flags);
    p.src = syn.o.dst;
    p.dst = syn.o.src;
    p.seq = seq;
    p.ack = ack;
    p.payload = std::move(data);
    p.eth_dst = kPodsMac;
    p.eth_src = kPodMac6;
    return serialize6(p);
}

class SynProxy6 : public ::testing::Test {
protected:
    SynProxy6() : lab(dual_stack_lab_model()) {
        learn_lab_neighbours6(lab.shared->neighbours6(), static_cast<uint32_t>(lab.now_ns() / 1000000000));
        lab.shared->set_syn_proxy(true);
    }

    // The client's SYN (MSS 1440) and the cookie the gateway answered with.
    uint32_t handshake_with_gateway() {
        lab.send(kExt, from_client(kSyn, kIsn, 0, {}, {2, 4, 0x05, 0xa0}));
        const Seg a = only_segment(lab);
        EXPECT_EQ(a.port, kExt);
        EXPECT_EQ(a.flags, kSyn | kAck);
        EXPECT_EQ(a.o.src, kVip6);
        EXPECT_EQ(a.o.dst, kClient6);
        EXPECT_EQ(a.sport, 80);
        EXPECT_EQ(a.dport, 41000);
        EXPECT_EQ(a.ack, kIsn + 1);
        EXPECT_EQ(a.mss, 1440);
        EXPECT_TRUE(a.csum_ok);
        EXPECT_EQ(mac_str(a.o.eth_dst), mac_str(kClientMac));
        return a.seq;
    }

    // The cookie returned: the SYN the gateway sends the backend.
    Seg open_backend(uint32_t cookie) {
        lab.send(kExt, from_client(kAck, kIsn + 1, cookie + 1));
        const Seg syn = only_segment(lab);
        EXPECT_EQ(syn.port, kPods);
        EXPECT_EQ(syn.flags, kSyn);
        EXPECT_EQ(syn.seq, kIsn) << "the client's ISN: its sequence space stays as it is";
        EXPECT_EQ(syn.mss, 1440);
        EXPECT_EQ(syn.dport, 8080);
        EXPECT_TRUE(syn.o.dst == kPodA6 || syn.o.dst == kPodB6);
        EXPECT_EQ(syn.o.src, kGwPods6) << "an outside client under externalTrafficPolicy Cluster is masqueraded";
        EXPECT_TRUE(syn.csum_ok);
        return syn;
    }

    Lab lab;
};

TEST_F(SynProxy6, ASynIsAnsweredWithACookieAndMakesNoFlow) {
    handshake_with_gateway();
    EXPECT_EQ(lab.reason(Reason::syn_cookie_sent), 1u);
    EXPECT_EQ(lab.shared->flows6()->stats().inserted, 0u);
}

TEST_F(SynProxy6, AValidCookieOpensTheBackendAndTheConnectionRunsShifted) {
    const uint32_t cookie = handshake_with_gateway();
    const Seg syn = open_backend(cookie);
    EXPECT_EQ(lab.reason(Reason::syn_proxy_opened), 1u);
    const uint16_t slot = lab.st->v6().lookup(kVip6, 6, 80).slot;
    ASSERT_NE(slot, 0);
    EXPECT_EQ(lab.worker_->frontends.read(slot).connections, 1u) << "the proxied connection counts for its frontend";

    lab.send(kExt, from_client(kAck | kPsh, kIsn + 1, cookie + 1, {'x'}));  // before the backend answered
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::syn_proxy_pending), 1u);

    const uint32_t backend_isn = 0x70000000;
    lab.send(kPods, from_backend(syn, kSyn | kAck, backend_isn, kIsn + 1));
    const Seg ack = only_segment(lab);
    EXPECT_EQ(ack.port, kPods);
    EXPECT_EQ(ack.flags, kAck) << "the gateway completes the backend's handshake";
    EXPECT_EQ(ack.o.dst, syn.o.dst);
    EXPECT_EQ(ack.o.src, syn.o.src);
    EXPECT_EQ(ack.dport, syn.dport);
    EXPECT_EQ(ack.sport, syn.sport);
    EXPECT_EQ(ack.seq, kIsn + 1);
    EXPECT_EQ(ack.ack, backend_isn + 1);
    EXPECT_TRUE(ack.csum_ok);

    lab.send(kExt, from_client(kAck | kPsh, kIsn + 1, cookie + 1, {'G', 'E', 'T'}));
    const Seg up = only_segment(lab);
    EXPECT_EQ(up.o.dst, syn.o.dst);
    EXPECT_EQ(up.seq, kIsn + 1);
    EXPECT_EQ(up.ack, backend_isn + 1) << "acks what the backend sent, in its numbers";
    EXPECT_EQ(up.data, 3u);
    EXPECT_TRUE(up.csum_ok);

    lab.send(kPods, from_backend(syn, kAck | kPsh, backend_isn + 1, kIsn + 4, {'o', 'k'}));
    const Seg down = only_segment(lab);
    EXPECT_EQ(down.port, kExt);
    EXPECT_EQ(down.o.src, kVip6);
    EXPECT_EQ(down.o.dst, kClient6);
    EXPECT_EQ(down.sport, 80);
    EXPECT_EQ(down.seq, cookie + 1) << "in the numbers the client was given";
    EXPECT_EQ(down.ack, kIsn + 4);
    EXPECT_TRUE(down.csum_ok);
}

TEST_F(SynProxy6, AForgedOrStaleCookieOpensNothing) {
    const uint32_t cookie = handshake_with_gateway();
    lab.send(kExt, from_client(kAck, kIsn + 1, cookie + 2));
    EXPECT_TRUE(lab.io.sent.empty());
    lab.advance(200);
    lab.send(kExt, from_client(kAck, kIsn + 1, cookie + 1));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::tcp_invalid_no_syn), 2u);
    EXPECT_EQ(lab.shared->flows6()->stats().inserted, 0u);
}

TEST_F(SynProxy6, ABackendResetReachesTheClientInItsNumbers) {
    const uint32_t cookie = handshake_with_gateway();
    const Seg syn = open_backend(cookie);
    lab.send(kPods, from_backend(syn, kRst | kAck, 0, kIsn + 1));
    const Seg rst = only_segment(lab);
    EXPECT_EQ(rst.port, kExt);
    EXPECT_TRUE(rst.flags & kRst);
    EXPECT_EQ(rst.seq, cookie + 1);
    EXPECT_TRUE(rst.csum_ok);
}

TEST_F(SynProxy6, TheCookieAckMayCarryExtensionHeadersTheBackendSynDoesNot) {
    const uint32_t cookie = handshake_with_gateway();
    Pkt6 p = Pkt6::tcp("::1", 41000, "::1", 80, kAck);
    p.src = kClient6;
    p.dst = kVip6;
    p.seq = kIsn + 1;
    p.ack = cookie + 1;
    p.ext = {Ext6::dst_opts(1)};
    p.eth_dst = kExtMac;
    p.eth_src = kClientMac;
    lab.send(kExt, serialize6(p));
    const Seg syn = only_segment(lab);
    EXPECT_EQ(syn.flags, kSyn);
    EXPECT_EQ(syn.seq, kIsn);
    EXPECT_EQ(syn.o.payload_len, 24u) << "TCP header and MSS option, nothing before them";
    EXPECT_TRUE(syn.csum_ok);
}

TEST_F(SynProxy6, CookiesOutliveTheProxyForTheHandshakesInFlight) {
    const uint32_t cookie = handshake_with_gateway();
    lab.shared->set_syn_proxy(false);
    lab.advance(70);
    open_backend(cookie);
    lab.send(kExt, from_client(kSyn, kIsn + 7, 0, {}, {}, 41001));  // proxy off: a SYN makes a flow as usual
    EXPECT_EQ(only_segment(lab).flags, kSyn);
    EXPECT_EQ(lab.shared->flows6()->stats().inserted, 2u);
    EXPECT_EQ(lab.reason(Reason::syn_cookie_sent), 1u);
}

TEST(SynCookie6, ValidForItsConnectionOnly) {
    const engine::SipKey key{3, 4};
    const engine::CookieTuple6 t{kClient6, kVip6, 0x1111, 0x2222};
    const uint32_t c = engine::make_cookie(key, t, kIsn, 6400, 3);
    uint16_t mss = 0;
    EXPECT_TRUE(engine::check_cookie(key, t, kIsn, c, 6400, mss));
    EXPECT_EQ(mss, 1460);
    engine::CookieTuple6 other = t;
    other.client_ip.b[15] ^= 1;  // another client, the same low 32 bits elsewhere
    EXPECT_FALSE(engine::check_cookie(key, other, kIsn, c, 6400, mss));
    other = t;
    other.vip.b[0] ^= 0x80;  // the address's high bits count too
    EXPECT_FALSE(engine::check_cookie(key, other, kIsn, c, 6400, mss));
}

}  // namespace
}  // namespace nfgate::test

// The SYN proxy (dataplane/engine/syn_proxy.hpp): SYNs answered with cookies and no flow, the
// backend connection opened on a valid cookie, sequence numbers shifted for the rest of the
// connection; and the cookie arithmetic underneath.
#include <gtest/gtest.h>

#include "dataplane/engine/syn_cookie.hpp"
#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::Reason;

constexpr uint32_t kClientIsn = 0x10000000;

Pkt from_client(uint8_t flags, uint32_t seq, uint32_t ack, std::vector<uint8_t> payload = {}) {
    Pkt p = from_router(Pkt::tcp("198.51.100.7", 42000, "192.0.2.50", 80, flags));  // web's externalIP
    p.seq = seq;
    p.ack = ack;
    p.payload = std::move(payload);
    return p;
}

// The backend's segment of the connection the gateway opened (`syn`: what it sent the backend).
Pkt from_backend(const Out& syn, uint8_t flags, uint32_t seq, uint32_t ack, std::vector<uint8_t> payload = {}) {
    Pkt p = from_pod(Pkt::tcp("0.0.0.1", syn.dport, "0.0.0.1", syn.sport, flags));
    p.src = syn.dst;
    p.dst = syn.src;
    p.eth_src = pod_mac(p.src);
    p.seq = seq;
    p.ack = ack;
    p.payload = std::move(payload);
    return p;
}

uint16_t mss_option(const Out& o) {
    const size_t hdr = (o.l4_bytes.at(12) >> 4) * 4u;
    for (size_t i = 20; i + 3 < hdr; ++i)
        if (o.l4_bytes[i] == 2 && o.l4_bytes[i + 1] == 4) return static_cast<uint16_t>(o.l4_bytes[i + 2] << 8 | o.l4_bytes[i + 3]);
    return 0;
}

TEST(SynCookie, SipHashMatchesTheReferenceVector) {
    // SipHash-2-4, key 00 01 .. 0f, messages 00 01 .. 07 and 00 .. 0f: the reference
    // implementation's vectors for 8 and 16 bytes.
    engine::SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    const uint64_t msg[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    EXPECT_EQ(engine::siphash24(key, msg, 1), 0x93f5f5799a932462ull);
    EXPECT_EQ(engine::siphash24(key, msg, 2), 0x3f2acc7f57c29bdbull);
}

TEST(SynCookie, ValidForItsConnectionAndTwoSlotsOnly) {
    engine::SipKey key{1, 2};
    engine::CookieTuple t{0x01020304, 0x05060708, 0x1111, 0x2222};
    const uint32_t now = 6400;
    const uint32_t c = engine::make_cookie(key, t, kClientIsn, now, 2);
    uint16_t mss = 0;
    EXPECT_TRUE(engine::check_cookie(key, t, kClientIsn, c, now, mss));
    EXPECT_EQ(mss, 1440);
    EXPECT_TRUE(engine::check_cookie(key, t, kClientIsn, c, now + 64, mss)) << "the next slot still accepts it";
    EXPECT_FALSE(engine::check_cookie(key, t, kClientIsn, c, now + 128, mss)) << "two slots later it is stale";
    EXPECT_FALSE(engine::check_cookie(key, t, kClientIsn + 1, c, now, mss)) << "another client ISN";
    engine::CookieTuple other = t;
    other.client_port = 0x1112;
    EXPECT_FALSE(engine::check_cookie(key, other, kClientIsn, c, now, mss)) << "another connection";
    EXPECT_FALSE(engine::check_cookie(engine::SipKey{1, 3}, t, kClientIsn, c, now, mss)) << "another key";
    EXPECT_EQ(engine::cookie_mss_class(0), 0);
    EXPECT_EQ(engine::cookie_mss_class(1460), 3);
    EXPECT_EQ(engine::cookie_mss_class(1400), 1);
}

class SynProxy : public ::testing::Test {
protected:
    void SetUp() override { lab.shared->set_syn_proxy(true); }

    // The client's SYN and the cookie the gateway answered with.
    uint32_t handshake_with_gateway() {
        lab.send(kExt, from_client(RTE_TCP_SYN_FLAG, kClientIsn, 0));
        const Out o = lab.only_output(kExt);
        EXPECT_EQ(o.tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
        EXPECT_EQ(o.src, ip("192.0.2.50"));
        EXPECT_EQ(o.sport, 80);
        EXPECT_EQ(o.dst, ip("198.51.100.7"));
        EXPECT_EQ(o.eth_dst.addr_bytes[5], kRouterMac.addr_bytes[5]);
        EXPECT_EQ(o.ack, kClientIsn + 1);
        EXPECT_EQ(mss_option(o), 536) << "the SYN named no MSS";
        EXPECT_TRUE(o.ip_csum_ok && o.l4_csum_ok);
        return o.seq;
    }

    Lab lab;
};

TEST_F(SynProxy, ASynIsAnsweredWithACookieAndMakesNoFlow) {
    handshake_with_gateway();
    EXPECT_EQ(lab.reason(Reason::syn_cookie_sent), 1u);
    EXPECT_EQ(lab.shared->flows().stats().inserted, 0u);
}

TEST_F(SynProxy, AValidCookieOpensTheBackendAndTheConnectionRunsShifted) {
    const uint32_t cookie = handshake_with_gateway();
    lab.send(kExt, from_client(RTE_TCP_ACK_FLAG, kClientIsn + 1, cookie + 1));
    const Out syn = lab.only_output(kPods);
    EXPECT_EQ(syn.tcp_flags, RTE_TCP_SYN_FLAG);
    EXPECT_EQ(syn.seq, kClientIsn) << "the client's ISN, so its sequence space is unchanged";
    EXPECT_EQ(mss_option(syn), 536);
    EXPECT_EQ(syn.dport, 8080);
    EXPECT_EQ(syn.src, ip("10.244.0.1")) << "externalTrafficPolicy Cluster: source-NATed as usual";
    EXPECT_TRUE(syn.ip_csum_ok && syn.l4_csum_ok);
    EXPECT_EQ(lab.reason(Reason::syn_proxy_opened), 1u);

    // Data before the backend answered: dropped, the client sends it again.
    lab.send(kExt, from_client(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, kClientIsn + 1, cookie + 1, {'x'}));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::syn_proxy_pending), 1u);

    const uint32_t backend_isn = 0x70000000;
    lab.send(kPods, from_backend(syn, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, backend_isn, kClientIsn + 1));
    const Out ack = lab.only_output(kPods);
    EXPECT_EQ(ack.tcp_flags, RTE_TCP_ACK_FLAG) << "the gateway completes the backend's handshake";
    EXPECT_EQ(ack.dst, syn.dst);
    EXPECT_EQ(ack.dport, syn.dport);
    EXPECT_EQ(ack.src, syn.src);
    EXPECT_EQ(ack.sport, syn.sport);
    EXPECT_EQ(ack.seq, kClientIsn + 1);
    EXPECT_EQ(ack.ack, backend_isn + 1);
    EXPECT_TRUE(ack.ip_csum_ok && ack.l4_csum_ok);

    lab.send(kExt, from_client(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, kClientIsn + 1, cookie + 1, {'G', 'E', 'T'}));
    const Out up = lab.only_output(kPods);
    EXPECT_EQ(up.dst, syn.dst);
    EXPECT_EQ(up.seq, kClientIsn + 1);
    EXPECT_EQ(up.ack, backend_isn + 1) << "acks what the backend sent, in its numbers";
    EXPECT_TRUE(up.ip_csum_ok && up.l4_csum_ok);

    lab.send(kPods, from_backend(syn, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, backend_isn + 1, kClientIsn + 4, {'o', 'k'}));
    const Out down = lab.only_output(kExt);
    EXPECT_EQ(down.dst, ip("198.51.100.7"));
    EXPECT_EQ(down.src, ip("192.0.2.50"));
    EXPECT_EQ(down.seq, cookie + 1) << "in the numbers the client was given";
    EXPECT_EQ(down.ack, kClientIsn + 4);
    EXPECT_TRUE(down.ip_csum_ok && down.l4_csum_ok);
}

TEST_F(SynProxy, AnAckWithoutAValidCookieOpensNothing) {
    const uint32_t cookie = handshake_with_gateway();
    lab.send(kExt, from_client(RTE_TCP_ACK_FLAG, kClientIsn + 1, (cookie ^ 1) + 1));  // another MSS class
    EXPECT_TRUE(lab.io.sent.empty());
    lab.send(kExt, from_client(RTE_TCP_ACK_FLAG, kClientIsn + 2, cookie + 1));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::tcp_invalid_no_syn), 2u);
    EXPECT_EQ(lab.shared->flows().stats().inserted, 0u);
}

TEST_F(SynProxy, CookiesOutliveTheProxyForTheHandshakesInFlight) {
    const uint32_t cookie = handshake_with_gateway();
    lab.shared->set_syn_proxy(false);
    lab.advance(70);
    lab.send(kExt, from_client(RTE_TCP_ACK_FLAG, kClientIsn + 1, cookie + 1));
    EXPECT_EQ(lab.only_output(kPods).tcp_flags, RTE_TCP_SYN_FLAG);
    lab.send(kExt, from_client(RTE_TCP_SYN_FLAG, kClientIsn, 0));  // a new SYN, proxy off: a flow as usual
    EXPECT_EQ(lab.reason(Reason::syn_cookie_sent), 1u);
}

TEST_F(SynProxy, ABackendResetReachesTheClientInItsNumbers) {
    const uint32_t cookie = handshake_with_gateway();
    lab.send(kExt, from_client(RTE_TCP_ACK_FLAG, kClientIsn + 1, cookie + 1));
    const Out syn = lab.only_output(kPods);
    lab.send(kPods, from_backend(syn, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, kClientIsn + 1));
    const Out rst = lab.only_output(kExt);
    EXPECT_TRUE(rst.tcp_flags & RTE_TCP_RST_FLAG);
    EXPECT_EQ(rst.seq, cookie + 1);
    EXPECT_TRUE(rst.l4_csum_ok);
}

TEST_F(SynProxy, DataRightBehindTheCookieAckWaitsForTheBackend) {
    const uint32_t cookie = handshake_with_gateway();
    lab.send(kExt, {serialize(from_client(RTE_TCP_ACK_FLAG, kClientIsn + 1, cookie + 1)),
                    serialize(from_client(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, kClientIsn + 1, cookie + 1, {'x'}))});
    ASSERT_EQ(lab.io.sent.size(), 1u) << "one SYN to the backend, not two";
    EXPECT_EQ(parse_out(lab.io.sent[0].m).tcp_flags, RTE_TCP_SYN_FLAG);
    EXPECT_EQ(lab.reason(Reason::syn_proxy_opened), 1u);
    EXPECT_EQ(lab.reason(Reason::syn_proxy_pending), 1u);
}

}  // namespace
}  // namespace nfgate::test

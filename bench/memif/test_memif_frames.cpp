// The generator's frame layer without EAL: a patched template equals a frame built from
// scratch, and the pods' side check accepts what a correct gateway sends and names what a
// wrong one breaks.
#include <gtest/gtest.h>

#include <array>

#include "bench/memif/memif_frames.hpp"

namespace nfgate::memif {
namespace {

constexpr Mac kGenA{2, 0, 0, 0, 0x0a, 2}, kGwA{2, 0, 0, 0, 0x0a, 1};
constexpr Mac kGenB{2, 0, 0, 0, 0x0b, 2}, kGwB{2, 0, 0, 0, 0x0b, 1};
constexpr uint32_t kPod = 0x0af4010a;  // 10.244.1.10

Endpoints ends(uint32_t snat = 0) {
    Endpoints e;
    e.client_base = 0xc6120000;  // 198.18.0.0
    e.flows = 1u << 20;
    e.vip = 0xcb00710a;          // 203.0.113.10
    e.vport = 53;
    e.target_port = 5353;
    e.snat = snat;
    e.pod_prefix = kPod & 0xffff0000u;
    e.add_pod(kPod);
    return e;
}

// What the gateway does to a client frame on its way to pod kPod: DNAT (and SNAT), TTL, MACs;
// checksums recomputed from scratch.
std::array<uint8_t, 128> forward(const uint8_t* in, uint16_t len, uint32_t snat) {
    std::array<uint8_t, 128> f{};
    std::memcpy(f.data(), in, len);
    std::memcpy(f.data(), kGenB.data(), 6);
    std::memcpy(f.data() + 6, kGwB.data(), 6);
    f[kEth + 8] -= 1;
    put32(f.data() + kEth + 16, kPod);
    put16(f.data() + kEth + kIp + 2, 5353);
    if (snat != 0) {
        put32(f.data() + kEth + 12, snat);
        put16(f.data() + kEth + kIp, 40000);
    }
    fill_checksums(f.data());
    return f;
}

TEST(MemifFrames, PatchedTemplateHasTheChecksumsOfAFrameBuiltFromScratch) {
    const Endpoints e = ends();
    for (uint8_t proto : {uint8_t{17}, uint8_t{6}}) {
        const Template t = make_template(proto, kAck | kPsh, kGenA, kGwA, e);
        for (uint32_t i : {0u, 1u, 4095u, 4096u, 999999u}) {
            std::array<uint8_t, 128> a{}, b{};
            t.patch(a.data(), i, e);
            b = a;
            fill_checksums(b.data());
            EXPECT_EQ(a, b) << "proto " << int(proto) << " flow " << i;
            EXPECT_EQ(be32(a.data() + kEth + 12), client_ip(e, i));
            EXPECT_EQ(be16(a.data() + kEth + kIp), client_port(i));
        }
    }
}

TEST(MemifFrames, PodCheckAcceptsACorrectlyTranslatedFrameAndItsSource) {
    const Endpoints e = ends();
    const Template t = make_template(17, 0, kGenA, kGwA, e);
    std::array<uint8_t, 128> sent{};
    t.patch(sent.data(), 12345, e);
    auto f = forward(sent.data(), t.len, 0);
    EXPECT_EQ(check_pod_frame(f.data(), t.len, kGenB, kGwB, e, 17).kind, PodFrame::data);

    const Endpoints masq = ends(0x0af40001);  // 10.244.0.1
    f = forward(sent.data(), t.len, masq.snat);
    EXPECT_EQ(check_pod_frame(f.data(), t.len, kGenB, kGwB, masq, 17).kind, PodFrame::data);
}

TEST(MemifFrames, PodCheckNamesWhatAWrongGatewayBroke) {
    const Endpoints e = ends();
    const Template t = make_template(17, 0, kGenA, kGwA, e);
    std::array<uint8_t, 128> sent{};
    t.patch(sent.data(), 7, e);
    auto expect_bad = [&](auto mutate, const char* why) {
        auto f = forward(sent.data(), t.len, 0);
        mutate(f.data());
        const PodCheck c = check_pod_frame(f.data(), t.len, kGenB, kGwB, e, 17);
        EXPECT_EQ(c.kind, PodFrame::bad) << why;
        EXPECT_STREQ(c.why, why);
    };
    expect_bad([](uint8_t* f) { f[kEth + kIp + 6] ^= 1; }, "UDP checksum");
    expect_bad([](uint8_t* f) { f[kEth + 10] ^= 1; }, "IPv4 header checksum");
    expect_bad([](uint8_t* f) { put16(f + kEth + kIp + 2, 53); fill_checksums(f); }, "destination port not the targetPort");
    expect_bad([](uint8_t* f) { put32(f + kEth + 16, kPod + 1); fill_checksums(f); }, "destination not a ready endpoint");
    // Source port of another flow: the payload still carries flow 7.
    expect_bad([](uint8_t* f) { put16(f + kEth + kIp, client_port(8)); fill_checksums(f); },
               "source not the one its flow was sent with");
    expect_bad([](uint8_t* f) { f[kEth + 8] += 1; fill_checksums(f); }, "TTL not decremented once");
}

TEST(MemifFrames, HandshakeRepliesAreValidSegmentsBackToTheSender) {
    const Endpoints e = ends();
    const Template syn = make_template(6, kSyn, kGenA, kGwA, e);
    std::array<uint8_t, 128> sent{};
    syn.patch(sent.data(), 5, e);
    auto f = forward(sent.data(), syn.len, 0);
    ASSERT_EQ(check_pod_frame(f.data(), syn.len, kGenB, kGwB, e, 6).kind, PodFrame::syn);
    const uint32_t len = make_syn_ack(f.data(), kGenB, kGwB);
    std::array<uint8_t, 128> check = f;
    fill_checksums(check.data());
    EXPECT_EQ(std::memcmp(check.data(), f.data(), len), 0);
    EXPECT_EQ(f[kEth + kIp + 13], kSyn | kAck);
    EXPECT_EQ(be32(f.data() + kEth + kIp + 8), kClientIsn + 1);
    EXPECT_EQ(be32(f.data() + kEth + 16), client_ip(e, 5));
}

TEST(MemifFrames, ArpRequestsForAnyAddressButTheGatewaysAreAnswered) {
    std::array<uint8_t, 60> f{};
    std::memset(f.data(), 0xff, 6);
    std::memcpy(f.data() + 6, kGwA.data(), 6);
    put16(f.data() + 12, 0x0806);
    uint8_t* a = f.data() + kEth;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    std::memcpy(a + 8, kGwA.data(), 6);
    put32(a + 14, 0xc0000201);  // 192.0.2.1 asks
    put32(a + 24, 0xc00002fe);  // for 192.0.2.254
    EXPECT_FALSE(is_arp_request(f.data(), 60, 0xc00002fe));
    ASSERT_TRUE(is_arp_request(f.data(), 60, 0xc0000201));
    make_arp_reply(f.data(), kGenA);
    EXPECT_EQ(be16(a + 6), 2);
    EXPECT_EQ(std::memcmp(a + 8, kGenA.data(), 6), 0);
    EXPECT_EQ(be32(a + 14), 0xc00002feu);
    EXPECT_EQ(std::memcmp(a + 18, kGwA.data(), 6), 0);
    EXPECT_EQ(be32(a + 24), 0xc0000201u);
    EXPECT_EQ(std::memcmp(f.data(), kGwA.data(), 6), 0);
}

}  // namespace
}  // namespace nfgate::memif

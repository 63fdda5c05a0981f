// The IPv6 neighbour table (dataplane/engine/neighbour_table6.hpp): a full probe window gives
// up its least recently used entry, next hops in use are kept, unconfirmed neighbours are probed
// with unicast solicitations and removed when they stay silent, and removal keeps the probe
// chains through it whole. worker_tick() sends the probes.
#include <gtest/gtest.h>

#include <memory>

#include "dataplane/engine/ndp.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"

namespace nfgate::test {
namespace {

using engine::Ip6;
using engine::NeighbourTable6;

Ip6 addr(uint32_t i) {
    Ip6 a = kPodA6;
    a.b[12] = static_cast<uint8_t>(i >> 24);
    a.b[13] = static_cast<uint8_t>(i >> 16);
    a.b[14] = static_cast<uint8_t>(i >> 8);
    a.b[15] = static_cast<uint8_t>(i);
    return a;
}

// A flood of made-up neighbours (solicitations from forged sources) cannot fill the table for
// good: a new neighbour takes the slot of the one heard from longest ago in its probe window.
TEST(NeighbourTable6, AFullWindowGivesUpTheNeighbourHeardFromLongestAgo) {
    auto table = std::make_unique<NeighbourTable6>();
    constexpr uint32_t kMany = 3 * NeighbourTable6::kSlots;
    for (uint32_t i = 0; i < kMany; ++i) ASSERT_TRUE(table->learn(addr(i), kPodMac6, 1000 + i)) << i;
    EXPECT_GE(table->evicted(), kMany - NeighbourTable6::kSlots);
    rte_ether_addr mac;
    unsigned recent = 0;
    for (uint32_t i = kMany - 64; i < kMany; ++i) recent += table->lookup(addr(i), mac);
    EXPECT_EQ(recent, 64u) << "the newest neighbours are all there";
    EXPECT_FALSE(table->lookup(addr(0), mac)) << "the first one heard went long ago";
    table->refresh(addr(1), kClientMac, 99999);
    EXPECT_FALSE(table->lookup(addr(1), mac)) << "a refresh never adds";
}

TEST(NeighbourTable6, ANextHopInUseOutlastsAFlood) {
    auto table = std::make_unique<NeighbourTable6>();
    ASSERT_TRUE(table->learn(kRouter6, kRouterMac, 10));
    rte_ether_addr mac;
    ASSERT_TRUE(table->lookup(kRouter6, mac, 20));  // traffic goes to it
    for (uint32_t i = 0; i < 3 * NeighbourTable6::kSlots; ++i) table->learn(addr(i), kPodMac6, 30 + i);
    EXPECT_GE(table->evicted(), 2 * NeighbourTable6::kSlots);
    ASSERT_TRUE(table->lookup(kRouter6, mac)) << "heard from longest ago, but in use";
    EXPECT_EQ(mac_str(mac), mac_str(kRouterMac));
}

TEST(NeighbourTable6, AnUnconfirmedNeighbourIsProbedThenRemoved) {
    auto table = std::make_unique<NeighbourTable6>();
    ASSERT_TRUE(table->learn(kPodA6, kPodMac6, 100));
    ASSERT_TRUE(table->learn(kPodB6, kPodMac6, 100));
    EXPECT_TRUE(table->age(100 + NeighbourTable6::kReachableSeconds - 1).empty());
    uint32_t now = 100 + NeighbourTable6::kReachableSeconds;
    table->refresh(kPodB6, kPodMac6, now);  // pod-b answers in time
    for (uint8_t k = 0; k < NeighbourTable6::kProbes; ++k, ++now) {
        const auto probes = table->age(now);
        ASSERT_EQ(probes.size(), 1u) << "probe " << int(k);
        EXPECT_EQ(probes[0].ip, kPodA6);
        EXPECT_EQ(mac_str(probes[0].mac), mac_str(kPodMac6)) << "unicast, to the MAC it had";
    }
    const uint64_t version = table->version();
    EXPECT_TRUE(table->age(now).empty());
    EXPECT_GT(table->version(), version);
    rte_ether_addr mac;
    EXPECT_FALSE(table->lookup(kPodA6, mac)) << "silent through its probes: gone";
    EXPECT_TRUE(table->lookup(kPodB6, mac));
    // An answer to a probe keeps the entry.
    ASSERT_TRUE(table->learn(kPodA6, kClientMac, now));
    now += NeighbourTable6::kReachableSeconds;
    ASSERT_EQ(table->age(now).size(), 2u);
    table->refresh(kPodA6, kClientMac, now);
    table->refresh(kPodB6, kPodMac6, now);
    EXPECT_TRUE(table->age(now + 1).empty());
    ASSERT_TRUE(table->lookup(kPodA6, mac));
    EXPECT_EQ(mac_str(mac), mac_str(kClientMac)) << "learnt again on another MAC";
}

// Half of a crowded table goes silent and is removed: every entry of the other half is still
// found behind the removed ones, and new neighbours take their places.
TEST(NeighbourTable6, RemovalKeepsTheProbeChainsWhole) {
    auto table = std::make_unique<NeighbourTable6>();
    constexpr uint32_t kCount = 1600;
    for (uint32_t i = 0; i < kCount; ++i) ASSERT_TRUE(table->learn(addr(i), kPodMac6, 1)) << i;
    ASSERT_EQ(table->evicted(), 0u);
    uint32_t now = 1 + NeighbourTable6::kReachableSeconds;
    for (uint32_t i = 0; i < kCount; i += 2) table->refresh(addr(i), kPodMac6, now);
    for (uint8_t k = 0; k <= NeighbourTable6::kProbes; ++k) table->age(now + k);
    rte_ether_addr mac;
    unsigned kept = 0, gone = 0;
    for (uint32_t i = 0; i < kCount; ++i) (i % 2 == 0 ? kept : gone) += table->lookup(addr(i), mac);
    EXPECT_EQ(kept, kCount / 2);
    EXPECT_EQ(gone, 0u);
    for (uint32_t i = kCount; i < kCount + kCount / 2; ++i) ASSERT_TRUE(table->learn(addr(i), kPodMac6, now));
    EXPECT_EQ(table->evicted(), 0u) << "the removed entries' slots are taken again";
    unsigned found = 0;
    for (uint32_t i = 0; i < kCount + kCount / 2; ++i) found += (i < kCount && i % 2) ? 0 : table->lookup(addr(i), mac);
    EXPECT_EQ(found, kCount);
}

TEST(EngineNeighbours6, TheWorkerProbesAnAgedNeighbourByUnicastSolicitation) {
    Lab lab(dual_stack_lab_model());
    learn_lab_neighbours6(lab.shared->neighbours6(), static_cast<uint32_t>(lab.now_ns() / 1'000'000'000));
    lab.advance(NeighbourTable6::kReachableSeconds);
    lab.tick();
    unsigned to_pod_a = 0, ns6 = 0;
    for (const Sent& s : lab.io.sent) {
        const Out6 o = parse_out6(s.m);
        if (o.ether_type != RTE_ETHER_TYPE_IPV6 || o.payload.empty() || o.payload[0] != engine::kIcmp6NeighbourSolicit)
            continue;
        ++ns6;
        EXPECT_TRUE(o.icmp6_csum_ok);
        if (o.dst != kPodA6) continue;
        ++to_pod_a;
        EXPECT_EQ(s.port, kPods);
        EXPECT_EQ(mac_str(o.eth_dst), mac_str(kPodMac6));
        EXPECT_EQ(o.src, kGwPods6);
        EXPECT_EQ(Ip6::from(o.payload.data() + 8), kPodA6);
    }
    EXPECT_EQ(to_pod_a, 1u);
    EXPECT_EQ(ns6, 5u) << "client, router and three pods";
}

}  // namespace
}  // namespace nfgate::test

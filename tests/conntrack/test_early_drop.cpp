// A flow table full of half-open flows (a spoofed SYN flood) makes room for new ones, as Linux's
// early drop does, and never gives up an established flow (issue 14: "SYN flood takes every
// Service down for 85 s").
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

template <class T>
typename T::Init syn(uint32_t n) {
    const auto f = test::dnat_flow<typename T::Key>(n);
    typename T::Init in;
    in.orig = f.orig;
    in.reply = f.reply;
    in.tcp_flags = net::kTcpSyn;
    return in;
}

template <class T>
class EarlyDropTest : public ::testing::Test {};
TYPED_TEST_SUITE(EarlyDropTest, test::Families, test::FamilyName);

TYPED_TEST(EarlyDropTest, HalfOpenFlowsMakeRoomEstablishedOnesStay) {
    auto t = test::make_table<TypeParam>(256);
    ASSERT_NE(t, nullptr);
    const uint32_t now = 100;
    // A few established connections, then half-open ones until the table refuses.
    std::vector<typename TypeParam::Entry*> established;
    for (uint32_t n = 1; n <= 8; ++n) {
        const auto r = t->insert(0, syn<TypeParam>(n), now);
        ASSERT_EQ(r.status, InsertStatus::inserted);
        TypeParam::track(*r.entry, Dir::reply, net::kTcpSyn | net::kTcpAck, now);
        TypeParam::track(*r.entry, Dir::orig, net::kTcpAck, now);
        ASSERT_EQ(r.entry->tcp_state(), TcpState::established);
        established.push_back(r.entry);
    }
    uint32_t n = 1000;
    while (t->insert(0, syn<TypeParam>(n), now).status == InsertStatus::inserted) ++n;
    const ConntrackStats full = t->stats();
    EXPECT_GT(full.early_dropped, 0u) << "the refused insert gave up half-open flows";

    // Once the grace period passes (the worker reports quiescent, its sweep recycles), a new
    // connection gets in; the established ones are all still there.
    t->quiescent(0);
    t->age(0, now, 0);
    const auto fresh = t->insert(0, syn<TypeParam>(n + 1), now);
    EXPECT_EQ(fresh.status, InsertStatus::inserted);
    for (uint32_t i = 1; i <= 8; ++i) {
        const auto r = t->lookup(test::dnat_flow<typename TypeParam::Key>(i).orig);
        ASSERT_TRUE(r) << "established flow " << i << " was given up";
        EXPECT_EQ(r.entry->tcp_state(), TcpState::established);
    }
}

// The SYN-flood guard reads how many half-open TCP flows the last full ageing sweep saw.
TYPED_TEST(EarlyDropTest, AFullSweepCountsTheHalfOpenTcpFlows) {
    constexpr uint32_t kMaxFlows = 512;
    auto t = test::make_table<TypeParam>(kMaxFlows);
    ASSERT_NE(t, nullptr);
    const uint32_t now = 100;
    for (uint32_t n = 1; n <= 30; ++n) {  // 10 established, 20 half-open (10 SYN_SENT, 10 SYN_RECV)
        const auto r = t->insert(0, syn<TypeParam>(n), now);
        ASSERT_EQ(r.status, InsertStatus::inserted);
        if (n <= 20) TypeParam::track(*r.entry, Dir::reply, net::kTcpSyn | net::kTcpAck, now);
        if (n <= 10) TypeParam::track(*r.entry, Dir::orig, net::kTcpAck, now);
    }
    EXPECT_EQ(t->stats().half_open, 0u) << "no sweep has finished yet";
    t->age(0, now, kMaxFlows);  // one whole pass over the partition
    EXPECT_EQ(t->stats().half_open, 20u);
    t->age(0, now, kMaxFlows);
    EXPECT_EQ(t->stats().half_open, 20u) << "each pass counts afresh";
}

}  // namespace
}  // namespace nfgate::ct

// Timeouts with an injected clock, incremental ageing, RCU grace periods before reuse, SNAT ports
// released with their flows.
#include <gtest/gtest.h>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/snat_ports.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

using test::ip;

template <class T>
struct Fixture {
    using Key = typename T::Key;
    using Init = typename T::Init;
    static constexpr uint8_t kIcmp = test::Family<Key>::kIcmp;

    std::unique_ptr<SnatPorts> snat;
    std::unique_ptr<T> table;

    explicit Fixture(uint32_t max_flows, unsigned workers = 1) {
        std::string err;
        const uint32_t addr = ip(192, 0, 2, 1);  // pool 0: the table only hands back pool, protocol, port
        SnatPorts::Config sc;
        sc.workers = workers;
        snat = SnatPorts::create(std::span(&addr, 1), sc, err);
        EXPECT_NE(snat, nullptr) << err;
        table = test::make_table<T>(max_flows, workers, snat.get());
    }

    static test::DnatFlowOf<Key> flow(uint32_t n, uint8_t proto = net::kProtoTcp) { return test::dnat_flow<Key>(n, proto); }
    static Init init(uint32_t n, uint8_t proto = net::kProtoTcp, uint8_t tcp_flags = net::kTcpSyn) {
        const auto f = flow(n, proto);
        Init in;
        in.orig = f.orig;
        in.reply = f.reply;
        in.tcp_flags = tcp_flags;
        return in;
    }

    typename T::Entry* add(uint32_t n, uint8_t proto, uint32_t now, uint8_t tcp_flags = net::kTcpSyn) {
        const auto r = table->insert(0, init(n, proto, tcp_flags), now);
        EXPECT_EQ(r.status, InsertStatus::inserted) << insert_status_name(r.status);
        return r.entry;
    }

    // A flow that got its answer (UDP replied: 120 s timeout; TCP established): a full table
    // keeps it.
    typename T::Entry* add_assured(uint32_t n, uint8_t proto, uint32_t now) {
        auto* e = add(n, proto, now);
        if (e == nullptr) return e;
        if (proto == net::kProtoTcp) {
            T::track(*e, Dir::reply, net::kTcpSyn | net::kTcpAck, now);
            T::track(*e, Dir::orig, net::kTcpAck, now);
        } else {
            T::track(*e, Dir::reply, 0, now);
        }
        return e;
    }

    // One full sweep of worker 0's partition.
    unsigned sweep(uint32_t now) { return table->age(0, now, table->capacity()); }
};

template <class T>
class FlowAgeingTest : public ::testing::Test {
protected:
    using Fx = Fixture<T>;
};
TYPED_TEST_SUITE(FlowAgeingTest, test::Families, test::FamilyName);

TYPED_TEST(FlowAgeingTest, UdpUnrepliedLivesThirtySeconds) {
    typename TestFixture::Fx fx(64);
    auto* e = fx.add(1, net::kProtoUdp, 1000);
    EXPECT_EQ(fx.table->timeout_of(*e), 30u);
    EXPECT_EQ(fx.sweep(1030), 0u);
    EXPECT_TRUE(fx.table->lookup(fx.flow(1, net::kProtoUdp).orig));
    EXPECT_EQ(fx.sweep(1031), 1u);
    EXPECT_FALSE(fx.table->lookup(fx.flow(1, net::kProtoUdp).orig));
    EXPECT_EQ(fx.table->stats().expired, 1u);
}

TYPED_TEST(FlowAgeingTest, UdpSeenBothWaysIsAssuredForTwoMinutes) {
    typename TestFixture::Fx fx(64);
    auto* e = fx.add(1, net::kProtoUdp, 1000);
    EXPECT_EQ(TypeParam::track(*e, Dir::orig, 0, 1005), TcpVerdict::ok);
    EXPECT_FALSE(e->seen_reply());
    EXPECT_EQ(TypeParam::track(*e, Dir::reply, 0, 1010), TcpVerdict::ok);
    EXPECT_TRUE(e->seen_reply());
    EXPECT_EQ(fx.table->timeout_of(*e), 120u);
    EXPECT_EQ(fx.sweep(1130), 0u);
    EXPECT_EQ(fx.sweep(1131), 1u);
}

TYPED_TEST(FlowAgeingTest, IcmpLivesThirtySeconds) {
    typename TestFixture::Fx fx(64);
    auto* e = fx.add(1, fx.kIcmp, 50);
    EXPECT_EQ(fx.table->timeout_of(*e), 30u);
    EXPECT_EQ(fx.sweep(80), 0u);
    EXPECT_EQ(fx.sweep(81), 1u);
}

TYPED_TEST(FlowAgeingTest, TcpTimeoutFollowsTheState) {
    typename TestFixture::Fx fx(64);
    auto* e = fx.add(1, net::kProtoTcp, 0);
    EXPECT_EQ(fx.table->timeout_of(*e), 120u);
    TypeParam::track(*e, Dir::reply, net::kTcpSyn | net::kTcpAck, 1);
    EXPECT_EQ(fx.table->timeout_of(*e), 60u);
    TypeParam::track(*e, Dir::orig, net::kTcpAck, 2);
    EXPECT_EQ(e->tcp_state(), TcpState::established);
    EXPECT_EQ(fx.table->timeout_of(*e), 432000u);
    EXPECT_EQ(fx.sweep(2 + 431999), 0u);
    TypeParam::track(*e, Dir::orig, net::kTcpRst, 100);
    EXPECT_EQ(e->tcp_state(), TcpState::close);
    EXPECT_EQ(fx.table->timeout_of(*e), 10u);
    EXPECT_EQ(fx.sweep(110), 0u);
    EXPECT_EQ(fx.sweep(111), 1u);
}

TYPED_TEST(FlowAgeingTest, InvalidTcpPacketDoesNotRefreshTheFlow) {
    typename TestFixture::Fx fx(64);
    auto* e = fx.add(1, net::kProtoTcp, 0);
    EXPECT_EQ(TypeParam::track(*e, Dir::orig, net::kTcpSyn | net::kTcpAck, 100), TcpVerdict::invalid);
    EXPECT_EQ(e->last_seen.load(), 0u);
    EXPECT_EQ(fx.sweep(121), 1u);
}

TYPED_TEST(FlowAgeingTest, ClockSkewBetweenWorkersIsNotExpiry) {
    typename TestFixture::Fx fx(64);
    auto* e = fx.add(1, net::kProtoUdp, 1000);
    TypeParam::track(*e, Dir::orig, 0, 1001);  // another worker's clock is one tick ahead
    EXPECT_FALSE(fx.table->expired(*e, 1000));
}

TYPED_TEST(FlowAgeingTest, SweepIsIncremental) {
    typename TestFixture::Fx fx(100);
    for (uint32_t i = 0; i < 100; i++) fx.add(i, net::kProtoUdp, 0);
    unsigned total = 0;
    for (int call = 0; call < 10; call++) {
        const unsigned n = fx.table->age(0, 1000, 10);
        EXPECT_EQ(n, 10u) << "call " << call;
        total += n;
    }
    EXPECT_EQ(total, 100u);
    EXPECT_EQ(fx.table->age(0, 1000, 10), 0u);
}

TYPED_TEST(FlowAgeingTest, EntryIsReusedOnlyAfterEveryWorkerPassedAQuiescentState) {
    typename TestFixture::Fx fx(2, 2);  // one entry per worker
    auto* e = fx.add_assured(1, net::kProtoUdp, 0);
    ASSERT_EQ(fx.table->owner_of(*e), 0u);
    EXPECT_EQ(fx.table->insert(0, fx.init(2, net::kProtoUdp), 0).status,
              InsertStatus::full);
    ASSERT_EQ(fx.sweep(200), 1u);
    fx.table->age(0, 200, 1);
    EXPECT_EQ(fx.table->stats().recycled, 0u) << "no reader has reported yet";
    fx.table->quiescent(0);
    fx.table->age(0, 200, 1);
    EXPECT_EQ(fx.table->stats().recycled, 0u) << "worker 1 may still hold it";
    fx.table->quiescent(1);
    fx.table->age(0, 200, 1);
    EXPECT_EQ(fx.table->stats().recycled, 1u);
    const auto r = fx.table->insert(0, fx.init(2), 200);
    ASSERT_EQ(r.status, InsertStatus::inserted);
    EXPECT_EQ(r.entry, e) << "the one entry of worker 0 came back";
}

TYPED_TEST(FlowAgeingTest, OfflineWorkerDoesNotHoldBackRecycling) {
    typename TestFixture::Fx fx(2, 2);
    fx.table->offline(1);
    fx.add(1, net::kProtoUdp, 0);
    ASSERT_EQ(fx.sweep(100), 1u);
    fx.table->quiescent(0);
    fx.table->age(0, 100, 1);
    EXPECT_EQ(fx.table->stats().recycled, 1u);
    fx.table->online(1);
}

TYPED_TEST(FlowAgeingTest, RemoteUnlinkIsRecycledByTheOwner) {
    typename TestFixture::Fx fx(8);
    auto* e = fx.add(1, net::kProtoTcp, 0);
    EXPECT_TRUE(fx.table->unlink(*e));
    EXPECT_EQ(fx.sweep(1), 0u) << "unlinked by someone else, not expired here";
    EXPECT_EQ(fx.table->stats().unlinked, 1u);
    fx.table->quiescent(0);
    fx.sweep(1);
    EXPECT_EQ(fx.table->stats().recycled, 1u);
    EXPECT_EQ(fx.table->stats().live, 0u);
}

// ICMPv6 echo identifiers come from the same slice as ICMP ones.
TYPED_TEST(FlowAgeingTest, SnatPortReturnsWhenTheFlowIsRecycled) {
    typename TestFixture::Fx fx(8);
    uint32_t now = 0;
    for (const uint8_t proto : {net::kProtoTcp, fx.kIcmp}) {
        const uint32_t before = fx.snat->free_count(0, 0, proto);
        uint16_t port = 0;
        ASSERT_TRUE(fx.snat->acquire(0, 0, proto, port));
        auto in = fx.init(1, proto);
        in.reply.dst_ip = test::Family<typename TypeParam::Key>::gateway();
        in.reply.dst_port = port;
        in.snat_pool = 0;
        in.snat_port = port;
        ASSERT_EQ(fx.table->insert(0, in, now).status, InsertStatus::inserted);
        EXPECT_EQ(fx.snat->free_count(0, 0, proto), before - 1);
        now += 1000;
        ASSERT_EQ(fx.sweep(now), 1u);
        fx.table->quiescent(0);
        fx.sweep(now);
        EXPECT_EQ(fx.snat->free_count(0, 0, proto), before) << "protocol " << unsigned{proto};
    }
}

TYPED_TEST(FlowAgeingTest, FailedInsertLeavesTheSnatPortWithTheCaller) {
    typename TestFixture::Fx fx(8);
    fx.add(1, net::kProtoTcp, 0);
    uint16_t port = 0;
    ASSERT_TRUE(fx.snat->acquire(0, 0, net::kProtoTcp, port));
    const uint32_t held = fx.snat->free_count(0, 0, net::kProtoTcp);
    auto dup = fx.init(1);
    dup.reply = fx.flow(2).reply;
    dup.snat_pool = 0;
    dup.snat_port = port;
    ASSERT_EQ(fx.table->insert(0, dup, 0).status, InsertStatus::exists);
    fx.table->quiescent(0);
    fx.sweep(1);
    fx.table->quiescent(0);
    fx.sweep(1);
    EXPECT_EQ(fx.snat->free_count(0, 0, net::kProtoTcp), held) << "the table must not release it too";
}

TYPED_TEST(FlowAgeingTest, FullTableTakesNewFlowsAgainAfterExpiry) {
    typename TestFixture::Fx fx(32);
    for (uint32_t i = 0; i < 32; i++) fx.add_assured(i, net::kProtoUdp, 0);
    EXPECT_EQ(fx.table->insert(0, fx.init(99, net::kProtoUdp), 0).status,
              InsertStatus::full);
    EXPECT_EQ(fx.sweep(200), 32u);
    fx.table->quiescent(0);
    fx.sweep(200);
    for (uint32_t i = 100; i < 132; i++) fx.add(i, net::kProtoUdp, 200);
    EXPECT_EQ(fx.table->stats().live, 32u);
}

}  // namespace
}  // namespace nfgate::ct

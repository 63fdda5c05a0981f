// Timeouts with an injected clock, incremental ageing, RCU grace periods before reuse, SNAT ports
// released with their flows.
#include <gtest/gtest.h>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/snat_ports.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

using test::dnat_flow;
using test::ip;

struct Fixture {
    std::unique_ptr<SnatPorts> snat;
    std::unique_ptr<ConntrackTable> table;

    explicit Fixture(uint32_t max_flows, unsigned workers = 1) {
        std::string err;
        const uint32_t addr = ip(192, 0, 2, 1);
        SnatPorts::Config sc;
        sc.workers = workers;
        snat = SnatPorts::create(std::span(&addr, 1), sc, err);
        EXPECT_NE(snat, nullptr) << err;
        ConntrackTable::Config cfg;
        cfg.max_flows = max_flows;
        cfg.workers = workers;
        cfg.snat = snat.get();
        table = ConntrackTable::create(cfg, err);
        EXPECT_NE(table, nullptr) << err;
    }

    FlowEntry* add(uint32_t n, uint8_t proto, uint32_t now, uint8_t tcp_flags = net::kTcpSyn) {
        const auto f = dnat_flow(n, proto);
        FlowInit in;
        in.orig = f.orig;
        in.reply = f.reply;
        in.tcp_flags = tcp_flags;
        const InsertResult r = table->insert(0, in, now);
        EXPECT_EQ(r.status, InsertStatus::inserted) << insert_status_name(r.status);
        return r.entry;
    }

    // A flow that got its answer (UDP replied: 120 s timeout; TCP established): a full table
    // keeps it.
    FlowEntry* add_assured(uint32_t n, uint8_t proto, uint32_t now) {
        FlowEntry* e = add(n, proto, now);
        if (e == nullptr) return e;
        if (proto == net::kProtoTcp) {
            ConntrackTable::track(*e, Dir::reply, net::kTcpSyn | net::kTcpAck, now);
            ConntrackTable::track(*e, Dir::orig, net::kTcpAck, now);
        } else {
            ConntrackTable::track(*e, Dir::reply, 0, now);
        }
        return e;
    }

    // One full sweep of worker 0's partition.
    unsigned sweep(uint32_t now) { return table->age(0, now, table->capacity()); }
};

TEST(ConntrackAgeing, UdpUnrepliedLivesThirtySeconds) {
    Fixture fx(64);
    FlowEntry* e = fx.add(1, net::kProtoUdp, 1000);
    EXPECT_EQ(fx.table->timeout_of(*e), 30u);
    EXPECT_EQ(fx.sweep(1030), 0u);
    EXPECT_TRUE(fx.table->lookup(dnat_flow(1, net::kProtoUdp).orig));
    EXPECT_EQ(fx.sweep(1031), 1u);
    EXPECT_FALSE(fx.table->lookup(dnat_flow(1, net::kProtoUdp).orig));
    EXPECT_EQ(fx.table->stats().expired, 1u);
}

TEST(ConntrackAgeing, UdpSeenBothWaysIsAssuredForTwoMinutes) {
    Fixture fx(64);
    FlowEntry* e = fx.add(1, net::kProtoUdp, 1000);
    EXPECT_EQ(ConntrackTable::track(*e, Dir::orig, 0, 1005), TcpVerdict::ok);
    EXPECT_FALSE(e->seen_reply());
    EXPECT_EQ(ConntrackTable::track(*e, Dir::reply, 0, 1010), TcpVerdict::ok);
    EXPECT_TRUE(e->seen_reply());
    EXPECT_EQ(fx.table->timeout_of(*e), 120u);
    EXPECT_EQ(fx.sweep(1130), 0u);
    EXPECT_EQ(fx.sweep(1131), 1u);
}

TEST(ConntrackAgeing, IcmpLivesThirtySeconds) {
    Fixture fx(64);
    FlowEntry* e = fx.add(1, net::kProtoIcmp, 50);
    EXPECT_EQ(fx.table->timeout_of(*e), 30u);
    EXPECT_EQ(fx.sweep(80), 0u);
    EXPECT_EQ(fx.sweep(81), 1u);
}

TEST(ConntrackAgeing, TcpTimeoutFollowsTheState) {
    Fixture fx(64);
    FlowEntry* e = fx.add(1, net::kProtoTcp, 0);
    EXPECT_EQ(fx.table->timeout_of(*e), 120u);
    ConntrackTable::track(*e, Dir::reply, net::kTcpSyn | net::kTcpAck, 1);
    EXPECT_EQ(fx.table->timeout_of(*e), 60u);
    ConntrackTable::track(*e, Dir::orig, net::kTcpAck, 2);
    EXPECT_EQ(e->tcp_state(), TcpState::established);
    EXPECT_EQ(fx.table->timeout_of(*e), 432000u);
    EXPECT_EQ(fx.sweep(2 + 431999), 0u);
    ConntrackTable::track(*e, Dir::orig, net::kTcpRst, 100);
    EXPECT_EQ(e->tcp_state(), TcpState::close);
    EXPECT_EQ(fx.table->timeout_of(*e), 10u);
    EXPECT_EQ(fx.sweep(110), 0u);
    EXPECT_EQ(fx.sweep(111), 1u);
}

TEST(ConntrackAgeing, InvalidTcpPacketDoesNotRefreshTheFlow) {
    Fixture fx(64);
    FlowEntry* e = fx.add(1, net::kProtoTcp, 0);
    EXPECT_EQ(ConntrackTable::track(*e, Dir::orig, net::kTcpSyn | net::kTcpAck, 100), TcpVerdict::invalid);
    EXPECT_EQ(e->last_seen.load(), 0u);
    EXPECT_EQ(fx.sweep(121), 1u);
}

TEST(ConntrackAgeing, ClockSkewBetweenWorkersIsNotExpiry) {
    Fixture fx(64);
    FlowEntry* e = fx.add(1, net::kProtoUdp, 1000);
    ConntrackTable::track(*e, Dir::orig, 0, 1001);  // another worker's clock is one tick ahead
    EXPECT_FALSE(fx.table->expired(*e, 1000));
}

TEST(ConntrackAgeing, SweepIsIncremental) {
    Fixture fx(100);
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

TEST(ConntrackAgeing, EntryIsReusedOnlyAfterEveryWorkerPassedAQuiescentState) {
    Fixture fx(2, 2);  // one entry per worker
    FlowEntry* e = fx.add_assured(1, net::kProtoUdp, 0);
    ASSERT_EQ(fx.table->owner_of(*e), 0u);
    EXPECT_EQ(fx.table->insert(0, FlowInit{dnat_flow(2, net::kProtoUdp).orig, dnat_flow(2, net::kProtoUdp).reply}, 0).status,
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
    const InsertResult r = fx.table->insert(0, FlowInit{dnat_flow(2).orig, dnat_flow(2).reply, net::kTcpSyn}, 200);
    ASSERT_EQ(r.status, InsertStatus::inserted);
    EXPECT_EQ(r.entry, e) << "the one entry of worker 0 came back";
}

TEST(ConntrackAgeing, OfflineWorkerDoesNotHoldBackRecycling) {
    Fixture fx(2, 2);
    fx.table->offline(1);
    fx.add(1, net::kProtoUdp, 0);
    ASSERT_EQ(fx.sweep(100), 1u);
    fx.table->quiescent(0);
    fx.table->age(0, 100, 1);
    EXPECT_EQ(fx.table->stats().recycled, 1u);
    fx.table->online(1);
}

TEST(ConntrackAgeing, RemoteUnlinkIsRecycledByTheOwner) {
    Fixture fx(8);
    FlowEntry* e = fx.add(1, net::kProtoTcp, 0);
    EXPECT_TRUE(fx.table->unlink(*e));
    EXPECT_EQ(fx.sweep(1), 0u) << "unlinked by someone else, not expired here";
    EXPECT_EQ(fx.table->stats().unlinked, 1u);
    fx.table->quiescent(0);
    fx.sweep(1);
    EXPECT_EQ(fx.table->stats().recycled, 1u);
    EXPECT_EQ(fx.table->stats().live, 0u);
}

TEST(ConntrackAgeing, SnatPortReturnsWhenTheFlowIsRecycled) {
    Fixture fx(8);
    const uint32_t before = fx.snat->free_count(0, 0, net::kProtoTcp);
    uint16_t port = 0;
    ASSERT_TRUE(fx.snat->acquire(0, 0, net::kProtoTcp, port));
    const auto f = dnat_flow(1);
    FlowInit in{f.orig, f.reply, net::kTcpSyn};
    in.reply.dst_ip = ip(192, 0, 2, 1);
    in.reply.dst_port = port;
    in.snat_pool = 0;
    in.snat_port = port;
    ASSERT_EQ(fx.table->insert(0, in, 0).status, InsertStatus::inserted);
    EXPECT_EQ(fx.snat->free_count(0, 0, net::kProtoTcp), before - 1);
    ASSERT_EQ(fx.sweep(1000), 1u);
    fx.table->quiescent(0);
    fx.sweep(1000);
    EXPECT_EQ(fx.snat->free_count(0, 0, net::kProtoTcp), before);
}

TEST(ConntrackAgeing, FailedInsertLeavesTheSnatPortWithTheCaller) {
    Fixture fx(8);
    fx.add(1, net::kProtoTcp, 0);
    uint16_t port = 0;
    ASSERT_TRUE(fx.snat->acquire(0, 0, net::kProtoTcp, port));
    const uint32_t held = fx.snat->free_count(0, 0, net::kProtoTcp);
    FlowInit dup{dnat_flow(1).orig, dnat_flow(2).reply, net::kTcpSyn};
    dup.snat_pool = 0;
    dup.snat_port = port;
    ASSERT_EQ(fx.table->insert(0, dup, 0).status, InsertStatus::exists);
    fx.table->quiescent(0);
    fx.sweep(1);
    fx.table->quiescent(0);
    fx.sweep(1);
    EXPECT_EQ(fx.snat->free_count(0, 0, net::kProtoTcp), held) << "the table must not release it too";
}

TEST(ConntrackAgeing, FullTableTakesNewFlowsAgainAfterExpiry) {
    Fixture fx(32);
    for (uint32_t i = 0; i < 32; i++) fx.add_assured(i, net::kProtoUdp, 0);
    EXPECT_EQ(fx.table->insert(0, FlowInit{dnat_flow(99, net::kProtoUdp).orig, dnat_flow(99, net::kProtoUdp).reply}, 0).status,
              InsertStatus::full);
    EXPECT_EQ(fx.sweep(200), 32u);
    fx.table->quiescent(0);
    fx.sweep(200);
    for (uint32_t i = 100; i < 132; i++) fx.add(i, net::kProtoUdp, 200);
    EXPECT_EQ(fx.table->stats().live, 32u);
}

}  // namespace
}  // namespace nfgate::ct

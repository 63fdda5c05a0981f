// The TCP state machine on its own, and through track() on a table entry.
#include <gtest/gtest.h>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/tcp_state.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

struct Step {
    Dir dir;
    uint8_t flags;
    TcpState expect;
};

TcpState run(std::initializer_list<Step> steps) {
    TcpState s = TcpState::none;
    for (const Step& st : steps) {
        const TcpStep r = tcp_step(s, st.dir, st.flags);
        EXPECT_NE(r.verdict, TcpVerdict::invalid) << tcp_state_name(s) << " flags " << int(st.flags);
        s = r.next;
        EXPECT_EQ(s, st.expect) << "got " << tcp_state_name(s);
    }
    return s;
}

constexpr Dir O = Dir::orig;
constexpr Dir R = Dir::reply;

TEST(TcpState, HandshakeAndClientClose) {
    run({{O, net::kTcpSyn, TcpState::syn_sent},
         {R, net::kTcpSyn | net::kTcpAck, TcpState::syn_recv},
         {O, net::kTcpAck, TcpState::established},
         {O, net::kTcpFin | net::kTcpAck, TcpState::fin_wait},
         {R, net::kTcpAck, TcpState::close_wait},
         {R, net::kTcpFin | net::kTcpAck, TcpState::last_ack},
         {O, net::kTcpAck, TcpState::time_wait}});
}

TEST(TcpState, ServerCloses) {
    run({{O, net::kTcpSyn, TcpState::syn_sent},
         {R, net::kTcpSyn | net::kTcpAck, TcpState::syn_recv},
         {O, net::kTcpAck, TcpState::established},
         {R, net::kTcpFin | net::kTcpAck, TcpState::fin_wait},
         {O, net::kTcpFin | net::kTcpAck, TcpState::last_ack},
         {R, net::kTcpAck, TcpState::time_wait}});
}

TEST(TcpState, ResetClosesFromAnyOpenState) {
    for (auto s : {TcpState::syn_sent, TcpState::syn_recv, TcpState::established, TcpState::fin_wait,
                   TcpState::close_wait, TcpState::last_ack, TcpState::time_wait}) {
        for (Dir d : {O, R}) {
            const TcpStep r = tcp_step(s, d, net::kTcpRst | net::kTcpAck);
            EXPECT_EQ(r.verdict, TcpVerdict::ok) << tcp_state_name(s);
            EXPECT_EQ(r.next, TcpState::close) << tcp_state_name(s);
        }
    }
}

TEST(TcpState, OutOfPlacePacketsAreInvalidOrIgnored) {
    EXPECT_EQ(tcp_step(TcpState::none, R, net::kTcpAck).verdict, TcpVerdict::invalid);
    EXPECT_EQ(tcp_step(TcpState::syn_sent, O, net::kTcpAck).verdict, TcpVerdict::invalid);
    EXPECT_EQ(tcp_step(TcpState::established, O, net::kTcpSyn | net::kTcpAck).verdict, TcpVerdict::invalid);
    EXPECT_EQ(tcp_step(TcpState::established, O, 0).verdict, TcpVerdict::invalid);
    const TcpStep retransmitted = tcp_step(TcpState::established, R, net::kTcpSyn | net::kTcpAck);
    EXPECT_EQ(retransmitted.verdict, TcpVerdict::ignored);
    EXPECT_EQ(retransmitted.next, TcpState::established);
}

TEST(TcpState, NewSynReopensAClosedConnection) {
    EXPECT_EQ(tcp_step(TcpState::time_wait, O, net::kTcpSyn).next, TcpState::syn_sent);
    EXPECT_EQ(tcp_step(TcpState::close, O, net::kTcpSyn).next, TcpState::syn_sent);
}

TEST(TcpState, OnlySynOrMidStreamAckOpens) {
    EXPECT_TRUE(tcp_can_open(net::kTcpSyn));
    EXPECT_TRUE(tcp_can_open(net::kTcpAck));
    EXPECT_TRUE(tcp_can_open(net::kTcpAck | 0x08));
    EXPECT_FALSE(tcp_can_open(net::kTcpSyn | net::kTcpAck));
    EXPECT_FALSE(tcp_can_open(net::kTcpRst));
    EXPECT_FALSE(tcp_can_open(net::kTcpFin));
    EXPECT_FALSE(tcp_can_open(0));
}

TEST(TcpState, LinuxDefaultTimeouts) {
    const Timeouts t;
    EXPECT_EQ(t.tcp[unsigned(TcpState::syn_sent)], 120u);
    EXPECT_EQ(t.tcp[unsigned(TcpState::syn_recv)], 60u);
    EXPECT_EQ(t.tcp[unsigned(TcpState::established)], 432000u);
    EXPECT_EQ(t.tcp[unsigned(TcpState::fin_wait)], 120u);
    EXPECT_EQ(t.tcp[unsigned(TcpState::close_wait)], 60u);
    EXPECT_EQ(t.tcp[unsigned(TcpState::last_ack)], 30u);
    EXPECT_EQ(t.tcp[unsigned(TcpState::time_wait)], 120u);
    EXPECT_EQ(t.tcp[unsigned(TcpState::close)], 10u);
    EXPECT_EQ(t.udp_unreplied, 30u);
    EXPECT_EQ(t.udp_assured, 120u);
    EXPECT_EQ(t.icmp, 30u);
}

TEST(TcpState, TrackStoresLastSeenOnlyWhenTheClockMoved) {
    FlowEntry e;
    e.key[0] = test::dnat_flow(1).orig;
    e.key[1] = test::dnat_flow(1).reply;
    e.state.store(uint8_t(TcpState::established));
    EXPECT_EQ(ConntrackTable::track(e, O, net::kTcpAck, 5), TcpVerdict::ok);
    EXPECT_EQ(e.last_seen.load(), 5u);
    EXPECT_EQ(ConntrackTable::track(e, R, net::kTcpFin | net::kTcpAck, 6), TcpVerdict::ok);
    EXPECT_EQ(e.tcp_state(), TcpState::fin_wait);
    EXPECT_TRUE(e.seen_reply());
    EXPECT_EQ(e.last_seen.load(), 6u);
}

}  // namespace
}  // namespace nfgate::ct

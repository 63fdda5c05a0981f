// TCP connection-tracking state machine, modelled on Linux nf_conntrack_proto_tcp without window
// tracking and without the simultaneous-open state (SYN_SENT2): a table indexed by direction,
// packet class and current state, so an update on a hit is one load, one table read and, only
// when the state changes, one compare-and-swap.
#pragma once

#include <cstdint>

#include "dataplane/net/protocols.hpp"

#include "dataplane/conntrack/flow.hpp"

namespace nfgate::ct {

enum class TcpState : uint8_t {
    none = 0,
    syn_sent,
    syn_recv,
    established,
    fin_wait,
    close_wait,
    last_ack,
    time_wait,
    close,
};
inline constexpr unsigned kTcpStateCount = 9;

// ok: the packet belongs to the connection (state may have changed); ignored: it passes but does
// not move the state (e.g. a retransmitted SYN/ACK); invalid: it makes no sense in this state
// (Linux marks it INVALID and kube-proxy drops INVALID: the engine should drop it).
enum class TcpVerdict : uint8_t { ok, ignored, invalid };

struct TcpStep {
    TcpState next;
    TcpVerdict verdict;
};

// Linux default timeouts, seconds (net.netfilter.nf_conntrack_tcp_timeout_*).
inline constexpr uint32_t kTcpDefaultTimeout[kTcpStateCount] = {
    10,      // none: never stays there; treated like close
    120,     // syn_sent
    60,      // syn_recv
    432000,  // established (5 days)
    120,     // fin_wait
    60,      // close_wait
    30,      // last_ack
    120,     // time_wait
    10,      // close
};

namespace detail {

enum TcpClass : uint8_t { kSyn, kSynAck, kFin, kAck, kRst, kNone, kClassCount };

inline constexpr TcpClass tcp_class(uint8_t flags) {
    if (flags & net::kTcpRst) return kRst;
    if (flags & net::kTcpSyn) return (flags & net::kTcpAck) ? kSynAck : kSyn;
    if (flags & net::kTcpFin) return kFin;
    if (flags & net::kTcpAck) return kAck;
    return kNone;
}

inline constexpr uint8_t sNO = 0, sSS = 1, sSR = 2, sES = 3, sFW = 4, sCW = 5, sLA = 6, sTW = 7,
                         sCL = 8, sIG = 9, sIV = 10;

// [direction][packet class][current state]. The FIN/ACK rows are the same in both directions:
// once one side has sent FIN the states describe "one FIN seen / acked" regardless of who sent
// it, as in Linux. An ACK from the client with no state (mid-stream pickup) opens ESTABLISHED,
// like nf_conntrack_tcp_loose=1.
inline constexpr uint8_t kTcpNext[2][kClassCount][kTcpStateCount] = {
    {
        //         NO   SS   SR   ES   FW   CW   LA   TW   CL
        /*syn*/ {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS},
        /*s/a*/ {sIV, sIV, sIG, sIV, sIV, sIV, sIV, sIV, sIV},
        /*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL},
        /*ack*/ {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL},
        /*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
        /*non*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
    },
    {
        //         NO   SS   SR   ES   FW   CW   LA   TW   CL
        /*syn*/ {sIV, sIG, sIV, sIV, sIV, sIV, sIV, sIG, sIV},
        /*s/a*/ {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG},
        /*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL},
        /*ack*/ {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL},
        /*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
        /*non*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
    },
};

}  // namespace detail

inline constexpr TcpStep tcp_step(TcpState cur, Dir dir, uint8_t tcp_flags) {
    const uint8_t n = detail::kTcpNext[static_cast<unsigned>(dir)][detail::tcp_class(tcp_flags)]
                                      [static_cast<unsigned>(cur)];
    if (n == detail::sIV) return {cur, TcpVerdict::invalid};
    if (n == detail::sIG) return {cur, TcpVerdict::ignored};
    return {static_cast<TcpState>(n), TcpVerdict::ok};
}

// Whether the first packet of a connection (no state yet, original direction) may create a flow:
// a SYN, or an ACK of a connection picked up mid-stream.
inline constexpr bool tcp_can_open(uint8_t tcp_flags) {
    return tcp_step(TcpState::none, Dir::orig, tcp_flags).verdict == TcpVerdict::ok;
}

const char* tcp_state_name(TcpState s);

}  // namespace nfgate::ct

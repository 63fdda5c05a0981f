// The fast path's SYN proxy (DPVS and the kernel's SYNPROXY do the same): while it is on, a SYN
// to a Service frontend creates no flow. The gateway answers it with a SYN cookie
// (syn_cookie.hpp); only the client's ACK that returns a valid cookie opens the connection to
// the backend, the gateway playing the client's part of that handshake:
//
//   client -- SYN -------------> gateway                      (no state; answered in place)
//   client <- SYN-ACK(cookie) -- gateway
//   client -- ACK(cookie+1) ---> gateway: flow created (pending), the ACK becomes
//                                gateway -- SYN(client ISN) ----------> backend
//                                gateway <- SYN-ACK(backend ISN) ------ backend
//                                gateway -- ACK ----------------------> backend (the SYN-ACK, turned)
//
// From then on the connection is translated as any other, plus one sequence shift: the
// client's sequence space is the same on both sides, the backend's is offset by
// shift = backend ISN - cookie (client -> backend: ack += shift; backend -> client: seq -= shift).
// A spoofed SYN flood therefore costs one hash and one answer per SYN and fills no table.
// The cookie handshake carries no window scaling, SACK or timestamps, so connections opened
// while the proxy is on run without them. Both families take the same steps; IPv6 segments the
// proxy rewrites leave without extension headers.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/packet_parse6.hpp"
#include "dataplane/engine/syn_cookie.hpp"
#include "dataplane/engine/worker_stats.hpp"

namespace nfgate::engine {

// The MSS option of a TCP segment; 0 when it has none (or a malformed option list).
uint16_t tcp_mss_option(const PacketMeta& pm);
uint16_t tcp_mss_option(const PacketMeta6& pm);

// The cookie tuple of a client's packet to a frontend.
inline CookieTuple cookie_tuple(const PacketMeta& pm) { return CookieTuple{pm.src, pm.dst, pm.sport, pm.dport}; }
inline CookieTuple6 cookie_tuple(const PacketMeta6& pm) { return CookieTuple6{pm.src, pm.dst, pm.sport, pm.dport}; }

// A bare ACK (no SYN, RST or FIN) that may return a cookie: true and `client_isn`/`mss` set when
// its ack - 1 is a valid cookie for it.
bool returns_cookie(const SipKey& key, const PacketMeta& pm, uint32_t now_s, uint32_t& client_isn, uint32_t& cookie,
                    uint16_t& mss);
bool returns_cookie(const SipKey& key, const PacketMeta6& pm, uint32_t now_s, uint32_t& client_isn, uint32_t& cookie,
                    uint16_t& mss);

// The client's ACK turned in place into the SYN that opens the backend connection: sequence
// number `client_isn`, one MSS option, no payload; addresses and ports still the client's (the
// flow's NAT rewrites them next). IP header and TCP checksum complete. False when the mbuf
// cannot hold the option.
bool ack_to_backend_syn(rte_mbuf* m, PacketMeta& pm, uint32_t client_isn, uint16_t mss);
bool ack_to_backend_syn(rte_mbuf* m, PacketMeta6& pm, uint32_t client_isn, uint16_t mss);

// What a packet of a flow the proxy opened needs (see syn_proxy_segment).
enum class ProxyStep : uint8_t {
    translate,       // sequence shifted: translate and forward as usual
    handshake_done,  // the backend's SYN-ACK, now the ACK back to it: forward as is (no NAT)
    pending,         // a client segment before the backend answered: drop (the client resends)
    refused,         // a backend segment that is neither SYN-ACK nor RST while pending: drop
};

// For a flow with kFlowSynProxy: completes the backend handshake on its SYN-ACK (the packet is
// rewritten into the ACK to the backend), and shifts the sequence numbers of the rest.
ProxyStep syn_proxy_segment(ct::FlowEntry& e, ct::Dir d, rte_mbuf* m, PacketMeta& pm);
ProxyStep syn_proxy_segment(ct::FlowEntry6& e, ct::Dir d, rte_mbuf* m, PacketMeta6& pm);

// A hit on a flow the proxy opened, before its state is tracked, for either family's table:
// `go_on` (sequence shifted: track and translate as usual), `forward_as_is` (the backend's
// SYN-ACK turned into the ACK back to it, the state machine told of both: route it without
// NAT) or `drop` (counted).
enum class ProxyHit : uint8_t { go_on, forward_as_is, drop };

template <class Table, class Meta>
ProxyHit syn_proxy_hit(typename Table::Entry& e, ct::Dir d, rte_mbuf* m, Meta& pm, uint32_t now_s,
                       BurstCounters& counters) {
    switch (syn_proxy_segment(e, d, m, pm)) {
        case ProxyStep::translate: return ProxyHit::go_on;
        case ProxyStep::handshake_done:
            Table::track(e, ct::Dir::reply, net::kTcpSyn | net::kTcpAck, now_s);
            Table::track(e, ct::Dir::orig, net::kTcpAck, now_s);
            ++counters.forwarded_nat;
            return ProxyHit::forward_as_is;
        case ProxyStep::pending: counters.count(Reason::syn_proxy_pending); break;
        case ProxyStep::refused: counters.count(Reason::syn_proxy_refused); break;
    }
    return ProxyHit::drop;
}

}  // namespace nfgate::engine

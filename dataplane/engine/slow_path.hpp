// The call-outs of the burst function: everything that is not an established flow. Plain
// functions (not templates): they decide, the burst function does the I/O.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/net/checksum.hpp"
#include "dataplane/engine/drop_reasons.hpp"
#include "dataplane/engine/engine_state.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/service_table.hpp"
#include "dataplane/engine/worker_stats.hpp"

namespace nfgate::engine {

// forward: route the (possibly rewritten) packet, folding `ip_delta` and the TTL decrement into
// the IP checksum; answer: the mbuf holds a reply to send out the input port; drop: free it.
// kernel: to the gateway's own kernel through the worker's ExceptionQueue. routed: the packet
// is complete, Ethernet header included, to send out SlowCtx::out_port (the IPv6 path routes
// its packets itself).
// parked: the worker keeps the packet until its next hop is known (neighbour_wait.hpp).
enum class Fate : uint8_t { forward, answer, drop, kernel, routed, parked };

struct SlowCtx {
    WorkerContext& worker;
    const ServiceTable& st;
    uint16_t in_port;
    uint64_t now_ns;
    uint32_t now_s;
    BurstCounters& counters;
    uint16_t out_port = 0;  // Fate::routed; Fate::parked: the port `solicitation` leaves by
    rte_mbuf* solicitation = nullptr;  // Fate::parked: asks for the next hop (may be none)

    Fate drop(Reason r) {
        counters.count(r);
        return Fate::drop;
    }
    Fate answer(Reason r) {
        counters.count(r);
        return Fate::answer;
    }
    // For the gateway's kernel when an exception path runs; else dropped as `without`.
    Fate to_kernel(Reason without) { return worker.exceptions.attached() ? Fate::kernel : drop(without); }
};

// Frames that are not a well-formed IPv4 packet: ARP, other EtherTypes, parse failures.
Fate on_not_ipv4(SlowCtx& c, rte_mbuf* m, L3Kind kind, Reason parse_error);

// IPv6 frames (ipv6_local.cpp): neighbour discovery and echo for the gateway's addresses;
// everything else goes to on_ipv6_packet().
Fate on_ipv6(SlowCtx& c, rte_mbuf* m);

// A parsed IPv6 packet that is not for neighbour discovery or a gateway echo (ipv6_flow.cpp):
// tracked, translated and routed; Fate::routed when it leaves by SlowCtx::out_port.
struct PacketMeta6;
Fate on_ipv6_packet(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm);

// The pieces of it the burst's IPv6 lanes (burst6.hpp) run on their own after a bulk lookup
// (a hit is ipv6_hit.hpp): a miss (answers, new flows, plain routing; routed or answered
// itself), and the route (MTU, hop limit, route, neighbour, Ethernet header; `resolved` set when
// the packet itself leaves, not a solicitation for its next hop).
Fate on_ipv6_miss(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm);
Fate route_ipv6(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm, bool* resolved = nullptr);

// IPv4 packets that take no part in the flow table: expiring TTL, fragments, ICMP errors,
// ICMP other than echo, protocols without ports.
Fate on_untracked(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, net::CsumDelta& ip_delta);

// A trackable packet (TCP, UDP, ICMP echo) that missed the flow table: local answers, new
// service flows, egress masquerade, plain routing.
Fate on_flow_miss(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, net::CsumDelta& ip_delta);

// Class D/E and limited broadcast: a router without multicast routing never forwards them
// (RFC 1812 5.3.5).
inline bool ip_is_unicast(uint32_t dst_host) { return dst_host < 0xe0000000u; }

// RFC 1812 5.3.7: a router forwards nothing from "this network" (0/8), loopback (127/8),
// multicast or class E, or the limited broadcast; and nothing claiming one of the gateway's own
// addresses or a Service address as its source (nobody else may send from them).
inline bool martian_source(const ServiceTable& st, uint32_t src_host) {
    const uint32_t a = src_host >> 24;
    return a == 0 || a == 127 || src_host >= 0xe0000000u || st.is_local(src_host) || st.is_service_address(src_host);
}
// ... and nothing to 0/8 or loopback (multicast is ip_is_unicast's).
inline bool martian_destination(uint32_t dst_host) {
    const uint32_t a = dst_host >> 24;
    return a == 0 || a == 127;
}

// True when the packet cannot take the flow-table path and must go to on_untracked().
inline bool needs_untracked_path(const PacketMeta& pm, const ServiceTable& st) {
    if (pm.fragment) return true;
    if (pm.ip->time_to_live <= 1 && !st.is_local(rte_be_to_cpu_32(pm.dst))) return true;
    if (pm.proto == net::kProtoTcp || pm.proto == net::kProtoUdp) return false;
    return pm.proto != net::kProtoIcmp || (pm.icmp_type != net::kIcmpEchoRequest && pm.icmp_type != net::kIcmpEchoReply);
}

}  // namespace nfgate::engine

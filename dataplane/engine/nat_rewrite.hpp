// The NAT rewrite of a packet, per protocol in one place: a flow's translated tuple for the
// packet's direction written with the checksum deltas the flow table precomputed at insert
// (RFC 1624), so a hit costs a few stores and two checksum folds; the same L4 writer puts back
// the tuple an ICMP error quotes.
#pragma once

#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/engine/packet_parse.hpp"

namespace nfgate::engine {

// What the engine stores in FlowEntry::tag: which kind of flow it created (low byte) and, for
// a Service flow, the frontend slot its packets are counted in (frontend_traffic.hpp).
enum FlowTag : uint32_t {
    kFlowMasquerade = 0,   // pod egress, source-NATed
    kFlowService = 1,      // DNAT to a backend (its reply source): UDP liveness is checked
    kFlowPassthrough = 2,  // tracked, never translated (inbound connection to a pod)
};

inline uint32_t service_flow_tag(uint16_t slot) { return kFlowService | uint32_t{slot} << 8; }
inline FlowTag flow_kind(uint32_t tag) { return static_cast<FlowTag>(tag & 0xff); }
inline uint32_t flow_slot(uint32_t tag) { return tag >> 8; }

// Writes ports `sport`/`dport` (network order) into the L4 header at `l4` of `proto` and
// applies the folded checksum delta `l4_delta`. `l4_len`: bytes of the header present (an ICMP
// error quotes only 8, which leaves the TCP checksum out). ICMP echo takes `sport` as its
// identifier. A UDP checksum of 0 ("none") stays 0.
inline void write_l4_ports(uint8_t proto, uint8_t* l4, size_t l4_len, uint16_t sport, uint16_t dport, uint16_t l4_delta) {
    switch (proto) {
        case net::kProtoTcp: {
            auto* tcp = reinterpret_cast<rte_tcp_hdr*>(l4);
            tcp->src_port = sport;
            tcp->dst_port = dport;
            if (l4_len >= offsetof(rte_tcp_hdr, cksum) + 2) tcp->cksum = net::csum_apply(tcp->cksum, l4_delta);
            break;
        }
        case net::kProtoUdp: {
            auto* udp = reinterpret_cast<rte_udp_hdr*>(l4);
            udp->src_port = sport;
            udp->dst_port = dport;
            udp->dgram_cksum = net::udp_csum_apply(udp->dgram_cksum, l4_delta);
            break;
        }
        default: {
            auto* icmp = reinterpret_cast<rte_icmp_hdr*>(l4);
            icmp->icmp_ident = sport;
            icmp->icmp_cksum = net::csum_apply(icmp->icmp_cksum, l4_delta);
            break;
        }
    }
}

// Rewrites a packet of a tracked flow to the flow's translated tuple for direction `d`; the IP
// header checksum is left to forward(), which folds `ip_delta` with the TTL decrement.
inline void rewrite_flow(PacketMeta& pm, const ct::FlowEntry& e, ct::Dir d, net::CsumDelta& ip_delta) {
    const ct::FlowKey t = e.translated(d);
    pm.ip->src_addr = t.src_ip;
    pm.ip->dst_addr = t.dst_ip;
    write_l4_ports(pm.proto, pm.l4, sizeof(rte_tcp_hdr), t.src_port, t.dst_port, e.l4_delta(d));
    pm.dst = t.dst_ip;
    ip_delta.sum = e.ip_delta(d);
}

}  // namespace nfgate::engine

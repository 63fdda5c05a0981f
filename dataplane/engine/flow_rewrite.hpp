// The NAT rewrite of a tracked packet: the flow's translated tuple for the packet's direction,
// with the checksum deltas the flow table precomputed at insert (RFC 1624), so a hit costs a few
// stores and two checksum folds.
#pragma once

#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/engine/checksum.hpp"
#include "dataplane/engine/packet_parse.hpp"

namespace nfgate::engine {

// What the engine stores in FlowEntry::tag: which kind of flow it created.
enum FlowTag : uint32_t {
    kFlowMasquerade = 0,   // pod egress, source-NATed
    kFlowService = 1,      // DNAT to a backend (its reply source): UDP liveness is checked
    kFlowPassthrough = 2,  // tracked, never translated (inbound connection to a pod)
};

// Rewrites a packet of an established flow to the flow's translated tuple for direction `d`,
// with the checksum deltas the flow precomputed at insert.
inline void rewrite_flow(PacketMeta& pm, const ct::FlowEntry& e, ct::Dir d, CsumDelta& ip_delta) {
    const ct::FlowKey t = e.translated(d);
    pm.ip->src_addr = t.src_ip;
    pm.ip->dst_addr = t.dst_ip;
    const uint16_t l4d = e.l4_delta(d);
    switch (pm.proto) {
        case kProtoTcp: {
            auto* tcp = reinterpret_cast<rte_tcp_hdr*>(pm.l4);
            tcp->src_port = t.src_port;
            tcp->dst_port = t.dst_port;
            tcp->cksum = ct::csum_apply_delta(tcp->cksum, l4d);
            break;
        }
        case kProtoUdp: {
            auto* udp = reinterpret_cast<rte_udp_hdr*>(pm.l4);
            udp->src_port = t.src_port;
            udp->dst_port = t.dst_port;
            if (udp->dgram_cksum != 0) {
                const uint16_t c = ct::csum_apply_delta(udp->dgram_cksum, l4d);
                udp->dgram_cksum = c == 0 ? 0xffff : c;
            }
            break;
        }
        default: {
            auto* icmp = reinterpret_cast<rte_icmp_hdr*>(pm.l4);
            icmp->icmp_ident = t.src_port;
            icmp->icmp_cksum = ct::csum_apply_delta(icmp->icmp_cksum, l4d);
            break;
        }
    }
    pm.dst = t.dst_ip;
    ip_delta.sum = e.ip_delta(d);
}

}  // namespace nfgate::engine

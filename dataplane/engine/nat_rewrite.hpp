// Address/port rewrite with incremental checksum update (RFC 1624), and the TTL decrement of
// forwarding folded into the same IP header checksum update.
#pragma once

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstdint>

#include "dataplane/engine/checksum.hpp"
#include "dataplane/engine/packet_parse.hpp"

namespace nfgate::engine {

// The tuple a packet leaves with, network order.
struct Translation {
    uint32_t src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;
};

// Checksum deltas for rewriting `pm`'s tuple to `t`: the IP header covers the addresses, TCP and
// UDP also cover them through the pseudo-header plus the ports; ICMP covers only the identifier.
struct NatDeltas {
    CsumDelta ip, l4;
};

inline NatDeltas nat_deltas(const PacketMeta& pm, const Translation& t) {
    NatDeltas d;
    d.ip.add32(pm.src, t.src);
    d.ip.add32(pm.dst, t.dst);
    if (pm.proto == kProtoIcmp) {
        d.l4.add16(pm.sport, t.sport);
    } else {
        d.l4 = d.ip;
        d.l4.add16(pm.sport, t.sport);
        d.l4.add16(pm.dport, t.dport);
    }
    return d;
}

// Writes `t` and the deltas into the packet; the IP checksum itself is left to the caller,
// which folds the TTL decrement into the same update (see forward_ip_csum()).
inline void write_l4_translation(PacketMeta& pm, const Translation& t, const NatDeltas& d) {
    pm.ip->src_addr = t.src;
    pm.ip->dst_addr = t.dst;
    if (pm.later_fragment) return;
    switch (pm.proto) {
        case kProtoTcp: {
            auto* tcp = reinterpret_cast<rte_tcp_hdr*>(pm.l4);
            tcp->src_port = t.sport;
            tcp->dst_port = t.dport;
            tcp->cksum = csum_apply(tcp->cksum, d.l4);
            break;
        }
        case kProtoUdp: {
            auto* udp = reinterpret_cast<rte_udp_hdr*>(pm.l4);
            udp->src_port = t.sport;
            udp->dst_port = t.dport;
            udp->dgram_cksum = udp_csum_apply(udp->dgram_cksum, d.l4);
            break;
        }
        case kProtoIcmp: {
            auto* icmp = reinterpret_cast<rte_icmp_hdr*>(pm.l4);
            icmp->icmp_ident = t.sport;
            icmp->icmp_cksum = csum_apply(icmp->icmp_cksum, d.l4);
            break;
        }
        default:
            break;
    }
    pm.src = t.src;
    pm.dst = t.dst;
    pm.sport = t.sport;
    pm.dport = t.dport;
}

// TTL - 1 (RFC 1812 5.3.1) plus any address delta, applied to the header checksum once.
// For TTL >= 1 the decrement's RFC 1624 term ~old + new is the same for every packet: the
// (TTL, protocol) word only loses 0x0100, so ~old + (old - 0x0100) = 0xfeff.
inline void forward_ip_csum(rte_ipv4_hdr* ip, CsumDelta addr_delta) {
    if (ip->time_to_live == 0) [[unlikely]] {
        const uint16_t old_word = rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id));
        --ip->time_to_live;
        addr_delta.add16(old_word, rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id)));
    } else {
        --ip->time_to_live;
        addr_delta.sum += RTE_BE16(0xfeff);
    }
    ip->hdr_checksum = csum_apply(ip->hdr_checksum, addr_delta);
}

}  // namespace nfgate::engine

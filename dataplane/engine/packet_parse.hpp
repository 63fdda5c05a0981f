// Ethernet / IPv4 / TCP / UDP / ICMP parsing with the RFC 1812 receive checks. Single-segment
// mbufs: headers must sit in the first segment, which every PMD used here guarantees.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstdint>
#include <cstring>

#include "dataplane/net/checksum.hpp"
#include "dataplane/net/protocols.hpp"
#include "dataplane/engine/drop_reasons.hpp"

namespace nfgate::engine {

// ipv6 is recognised (packet_parse6.hpp parses it) but the burst does not handle it yet: it
// drops it as eth_unsupported_type (on_not_ipv4), as before IPv6 was recognised (issue #11).
enum class L3Kind : uint8_t { ipv4, arp, invalid, ipv6 };

// Where the headers of one packet are and its 5-tuple in NETWORK order, as the conntrack key
// wants it (no byte swaps on the hot path). For ICMP echo the identifier stands in for both
// ports (the conntrack convention).
struct PacketMeta {
    rte_ipv4_hdr* ip = nullptr;
    uint8_t* l4 = nullptr;
    uint32_t src = 0, dst = 0;      // network order
    uint16_t sport = 0, dport = 0;  // network order
    uint16_t l3_len = 0;  // IPv4 total length
    uint8_t proto = 0;
    uint8_t tcp_flags = 0;
    uint8_t icmp_type = 0;
    bool fragment = false;       // MF set or offset != 0
    bool later_fragment = false; // offset != 0: no L4 header
};

// One's complement sum of an IPv4 header (ihl bytes, a multiple of 4) in 32-bit steps.
// The option-less 20-byte header, nearly every packet, is summed without a loop.
inline uint16_t ipv4_header_sum(const rte_ipv4_hdr* ip, uint32_t ihl) {
    const auto* p = reinterpret_cast<const uint8_t*>(ip);
    uint64_t sum = 0;
    uint32_t off = 0;
    if (ihl == sizeof(rte_ipv4_hdr)) {
        uint64_t a, b;
        uint32_t c;
        std::memcpy(&a, p, 8);
        std::memcpy(&b, p + 8, 8);
        std::memcpy(&c, p + 16, 4);
        sum = (a & 0xffffffff) + (a >> 32) + (b & 0xffffffff) + (b >> 32) + c;
        off = ihl;
    }
    for (; off < ihl; off += 4) {
        uint32_t w;
        std::memcpy(&w, p + off, 4);
        sum += w;
    }
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    return net::csum_fold(static_cast<uint32_t>(sum));
}

inline rte_ether_hdr* eth_of(rte_mbuf* m) { return rte_pktmbuf_mtod(m, rte_ether_hdr*); }

inline bool ip_is_fragment(const rte_ipv4_hdr* ip) {
    return (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

// Classifies by EtherType; `r` is set when the frame cannot be handled.
inline L3Kind classify_l2(const rte_mbuf* m, Reason& r) {
    if (m->data_len < sizeof(rte_ether_hdr)) {
        r = Reason::eth_truncated;
        return L3Kind::invalid;
    }
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return L3Kind::ipv4;
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) return L3Kind::arp;
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) return L3Kind::ipv6;
    r = Reason::eth_unsupported_type;
    return L3Kind::invalid;
}

// The TCP header at pm.l4 (`avail` bytes there): ports and flags into `pm` (either family's
// meta), or false when it is cut short.
template <class Meta>
inline bool read_tcp_ports(Meta& pm, uint32_t avail) {
    if (avail < sizeof(rte_tcp_hdr)) return false;
    const auto* t = reinterpret_cast<const rte_tcp_hdr*>(pm.l4);
    pm.sport = t->src_port;
    pm.dport = t->dst_port;
    pm.tcp_flags = t->tcp_flags;
    return true;
}

// The UDP header at pm.l4: ports into `pm`; nullptr when it is cut short.
template <class Meta>
inline const rte_udp_hdr* read_udp_ports(Meta& pm, uint32_t avail) {
    if (avail < sizeof(rte_udp_hdr)) return nullptr;
    const auto* u = reinterpret_cast<const rte_udp_hdr*>(pm.l4);
    pm.sport = u->src_port;
    pm.dport = u->dst_port;
    return u;
}

// Fills the L4 part of `pm`. Later fragments carry no L4 header and keep ports at zero.
inline bool parse_l4(PacketMeta& pm, uint32_t l4_avail, Reason& r) {
    if (pm.later_fragment) {
        pm.sport = pm.dport = 0;
        return true;
    }
    switch (pm.proto) {
        case net::kProtoTcp:
            if (!read_tcp_ports(pm, l4_avail)) break;
            return true;
        case net::kProtoUdp:
            if (read_udp_ports(pm, l4_avail) == nullptr) break;
            return true;
        case net::kProtoIcmp: {
            if (l4_avail < sizeof(rte_icmp_hdr)) break;
            const auto* c = reinterpret_cast<const rte_icmp_hdr*>(pm.l4);
            pm.icmp_type = c->icmp_type;
            pm.sport = pm.dport = c->icmp_ident;
            return true;
        }
        default:
            return true;  // other protocols are routed (or refused) by address only
    }
    r = Reason::l4_truncated;
    return false;
}

// RFC 1812 5.2.2: version 4, IHL >= 5, total length within the frame, valid header checksum.
inline bool parse_ipv4_packet(rte_mbuf* m, PacketMeta& pm, Reason& r) {
    const uint32_t avail = m->data_len - static_cast<uint32_t>(sizeof(rte_ether_hdr));
    if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr)) {
        r = Reason::ip_truncated;
        return false;
    }
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    if ((ip->version_ihl >> 4) != 4) {
        r = Reason::ip_bad_version;
        return false;
    }
    const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
    if (ihl < sizeof(rte_ipv4_hdr) || ihl > avail) {
        r = Reason::ip_bad_ihl;
        return false;
    }
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if (total < ihl || total > avail) {
        r = Reason::ip_bad_total_length;
        return false;
    }
    // A NIC that verified the header says so; only unverified headers are summed here.
    const uint64_t hw = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    const bool bad = hw == RTE_MBUF_F_RX_IP_CKSUM_GOOD ? false
                     : hw == RTE_MBUF_F_RX_IP_CKSUM_BAD ? true
                                                        : ipv4_header_sum(ip, ihl) != 0xffff;
    if (bad) {
        r = Reason::ip_bad_checksum;
        return false;
    }
    // Bytes after the datagram (Ethernet padding, or anything else) do not go on with it
    // (RFC 1812 5.2.2: the total length says where the datagram ends).
    if (total < avail && m->nb_segs == 1) rte_pktmbuf_trim(m, static_cast<uint16_t>(avail - total));
    pm.ip = ip;
    pm.l4 = reinterpret_cast<uint8_t*>(ip) + ihl;
    pm.l3_len = static_cast<uint16_t>(total);
    pm.src = ip->src_addr;
    pm.dst = ip->dst_addr;
    pm.proto = ip->next_proto_id;
    pm.fragment = ip_is_fragment(ip);
    pm.later_fragment = (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) != 0;
    return parse_l4(pm, total - ihl, r);
}

}  // namespace nfgate::engine

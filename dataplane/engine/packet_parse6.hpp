// IPv6 parsing (RFC 8200): the fixed header, the extension header chain up to the upper-layer
// header, and the 5-tuple as conntrack will key it. The common packet, TCP/UDP/ICMPv6 right
// after the fixed header, is parsed here inline; a chain of extension headers is walked out of
// line (packet_parse6.cpp). Single-segment mbufs, as for IPv4 (packet_parse.hpp).
//
// What the walk does with each header, as a router that translates addresses:
// - Hop-by-Hop Options: only right after the IPv6 header (RFC 8200 4.3); skipped, its options
//   are not acted on (RFC 8200 4: nodes may ignore it).
// - Destination Options, Routing with segments left 0: skipped (RFC 8200 4.4: "the node must
//   ignore the Routing header and proceed to process the next header").
// - Routing type 0: dropped whatever its segments left, as OpenBSD pf does: RFC 5095 deprecates
//   it and it has no legitimate sender.
// - Routing of another type with segments left > 0: the IPv6 destination is a waypoint, not
//   the flow's end, and the upper-layer checksum covers the final destination (RFC 8200 8.1).
//   A router that is not the waypoint forwards it untouched (RFC 8200 4: extension headers are
//   not examined on the way), as Linux and VPP do; the parser reports it (segments_left,
//   routing_off) and routing_header_allows() says what the stages that know the destination
//   decide: forwarded when neither addressed to the gateway nor translated, dropped otherwise
//   (the gateway implements no routing type; RFC 8200 4.4 then wants the packet discarded).
// - Fragment: the identity and place are reported; a later fragment ends the walk (no upper
//   layer header in it); a first fragment must hold the whole chain (RFC 7112). A fragment
//   header with offset 0 and M clear (an atomic fragment, RFC 6946) is a whole packet.
// - ESP, AH, No Next Header end the walk as the upper layer: no ports. AH covers the addresses
//   (RFC 4302 3.3.3.1) and ESP hides the ports, so neither can be translated; like GRE/SCTP on
//   IPv4 they are routed by address only, and refused as unsupported_protocol at a VIP.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstdint>

#include "dataplane/engine/drop_reasons.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/net/ipv6_addr.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::engine {

// At most 8 extension headers: RFC 8200 4.1's recommended order has 7 kinds (destination
// options twice), one more leaves room for an extension header kind added later. The upper
// layer must start within 256 bytes of the IPv6 header: 4 cache lines bound the walk, and a
// legitimate chain (a few 8-byte options, one routing header) is far shorter.
inline constexpr unsigned kMaxIp6ExtHeaders = 8;
inline constexpr unsigned kMaxIp6ChainBytes = 256;

// Where the headers of one IPv6 packet are and its 5-tuple in NETWORK order, as a conntrack key
// wants it. ICMPv6 echo: the identifier stands in for both ports.
struct PacketMeta6 {
    rte_ipv6_hdr* ip = nullptr;
    uint8_t* l4 = nullptr;          // the upper-layer header (later fragment: the fragment's data)
    net::Ip6Addr src, dst;          // network order
    uint16_t sport = 0, dport = 0;  // network order
    uint16_t payload_len = 0;       // host order: extension headers + upper layer
    uint16_t l4_len = 0;            // host order: bytes from l4 to the end of the packet
    uint8_t proto = 0;              // the upper-layer protocol, after the extension headers
    uint8_t hop_limit = 0;
    uint8_t tcp_flags = 0;
    uint8_t icmp_type = 0;          // ICMPv6 type
    uint8_t ext_count = 0;          // extension headers walked
    uint8_t segments_left = 0;      // of a routing header still to be followed (see above)
    uint16_t routing_off = 0;       // its offset from the IPv6 header; 0: none with segments left
    // Fragment header (RFC 8200 4.5).
    uint16_t frag_hdr_off = 0;      // its offset from the IPv6 header; 0: no fragment header
    uint16_t frag_offset = 0;       // host order, in 8-byte units
    uint32_t frag_id = 0;           // network order
    bool more_fragments = false;
    bool fragment = false;          // part of a fragmented datagram: M set or offset != 0
    bool later_fragment = false;    // offset != 0: no upper-layer header, ports zero
};

inline bool ip6_is_extension(uint8_t nh) {
    return nh == net::kProtoHopOpts || nh == net::kProtoRouting || nh == net::kProtoFragment ||
           nh == net::kProtoDstOpts;
}

// Walks the extension headers from the one `nh` names to the upper layer; fills l4, l4_len,
// proto and the extension fields of `pm` (pm.ip and pm.payload_len already set).
bool walk_ip6_extensions(PacketMeta6& pm, uint8_t nh, Reason& r);

// Fills the upper-layer part of `pm`. A UDP checksum of zero is dropped: "IPv6 receivers must
// discard UDP packets containing a zero checksum" (RFC 8200 8.1), and a rewrite could not
// update it. The tunnel exception of RFC 6935 is not taken: nothing here terminates tunnels.
inline bool parse_l4_6(PacketMeta6& pm, Reason& r) {
    if (pm.later_fragment) return true;
    switch (pm.proto) {
        case net::kProtoTcp:
            if (!read_tcp_ports(pm, pm.l4_len)) break;
            return true;
        case net::kProtoUdp: {
            const rte_udp_hdr* u = read_udp_ports(pm, pm.l4_len);
            if (u == nullptr) break;
            if (u->dgram_cksum == 0) {
                pm.sport = pm.dport = 0;
                r = Reason::ip6_udp_zero_checksum;
                return false;
            }
            return true;
        }
        case net::kProtoIcmpv6: {
            // Every ICMPv6 message has at least 8 bytes (RFC 4443 2.1 and the messages of 3, 4).
            if (pm.l4_len < sizeof(rte_icmp_hdr)) break;
            const auto* c = reinterpret_cast<const rte_icmp_hdr*>(pm.l4);
            pm.icmp_type = c->icmp_type;
            if (c->icmp_type == net::kIcmp6EchoRequest || c->icmp_type == net::kIcmp6EchoReply)
                pm.sport = pm.dport = c->icmp_ident;
            return true;
        }
        default:
            return true;  // ESP, AH, No Next Header and the rest: routed by address only
    }
    // RFC 7112: a first fragment that does not hold the upper-layer header is discarded.
    r = pm.fragment ? Reason::ip6_first_fragment_incomplete : Reason::l4_truncated;
    return false;
}

// RFC 8200 3 and 4, RFC 4291 2.5.2, 2.5.3, 2.7: version 6, payload within the frame, a source
// that is neither unspecified, loopback nor multicast and a destination that is neither
// unspecified nor loopback, then the extension chain and the upper-layer header.
inline bool parse_ipv6_packet(rte_mbuf* m, PacketMeta6& pm, Reason& r) {
    if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr)) {
        r = Reason::ip6_truncated;
        return false;
    }
    const uint32_t avail = m->data_len - static_cast<uint32_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr));
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, sizeof(rte_ether_hdr));
    if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6) {
        r = Reason::ip6_bad_version;
        return false;
    }
    // Payload length 0 with a Jumbo Payload option (RFC 2675) does not fit a frame either: it
    // falls to the extension walk (no room for the hop-by-hop header) or the L4 check.
    const uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
    if (plen > avail) {
        r = Reason::ip6_bad_payload_length;
        return false;
    }
    // Bytes after the packet (Ethernet padding) do not go on with it.
    if (plen < avail && m->nb_segs == 1) rte_pktmbuf_trim(m, static_cast<uint16_t>(avail - plen));
    pm.src = net::Ip6Addr::from(ip->src_addr);
    pm.dst = net::Ip6Addr::from(ip->dst_addr);
    if (net::ip6_is_multicast(pm.src) || net::ip6_is_unspecified(pm.src) || net::ip6_is_loopback(pm.src)) {
        r = Reason::ip6_martian_source;
        return false;
    }
    if (net::ip6_is_unspecified(pm.dst) || net::ip6_is_loopback(pm.dst)) {
        r = Reason::ip6_martian_destination;
        return false;
    }
    pm.ip = ip;
    pm.payload_len = static_cast<uint16_t>(plen);
    pm.hop_limit = ip->hop_limits;
    if (ip6_is_extension(ip->proto)) [[unlikely]] {
        if (!walk_ip6_extensions(pm, ip->proto, r)) return false;
    } else {
        pm.proto = ip->proto;
        pm.l4 = reinterpret_cast<uint8_t*>(ip + 1);
        pm.l4_len = static_cast<uint16_t>(plen);
    }
    return parse_l4_6(pm, r);
}

// What a packet with a routing header still to be followed may do, once the caller knows
// whether it is addressed to the gateway (or one of its VIPs) or would be translated. Neither:
// forwarded as it is. Otherwise dropped: the gateway would be the node to process a routing
// type it does not implement ("the node must discard the packet", RFC 8200 4.4), or would key
// and checksum a flow on a waypoint instead of its final destination.
inline bool routing_header_allows(const PacketMeta6& pm, bool local_or_translated, Reason& r) {
    if (pm.segments_left == 0 || !local_or_translated) return true;
    r = Reason::ip6_routing_segments_left;
    return false;
}

}  // namespace nfgate::engine

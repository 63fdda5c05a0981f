// ICMPv6 as it sits in the packet, for neighbour discovery (ndp.hpp) and the ICMPv6 answers
// (icmp6_answer.hpp): message types, the addresses with a meaning of their own, the checksum
// over the IPv6 pseudo-header and the view of an Ethernet + IPv6 + ICMPv6 frame.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/net/checksum6.hpp"
#include "dataplane/net/ipv6_addr.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::engine {

// An IPv6 address in network byte order, as in the header.
using Ip6 = net::Ip6Addr;

inline constexpr uint8_t kProtoIcmp6 = net::kProtoIcmpv6;
using net::kIcmp6EchoReply;
using net::kIcmp6EchoRequest;

// The other ICMPv6 types (RFC 4443 2.1, RFC 4861 4) and the codes the gateway sends.
inline constexpr uint8_t kIcmp6DestUnreachable = 1;
inline constexpr uint8_t kIcmp6PacketTooBig = 2;
inline constexpr uint8_t kIcmp6TimeExceeded = 3;
inline constexpr uint8_t kIcmp6ParamProblem = 4;
inline constexpr uint8_t kIcmp6NeighbourSolicit = 135;
inline constexpr uint8_t kIcmp6NeighbourAdvert = 136;
inline constexpr uint8_t kIcmp6Redirect = 137;
inline constexpr uint8_t kIcmp6CodePortUnreachable = 4;
inline constexpr uint8_t kIcmp6CodeHopLimitExceeded = 0;
inline constexpr uint8_t kIcmp6CodeUnrecognisedOption = 2;  // Parameter Problem

// RFC 8200 5: "IPv6 requires that every link in the Internet have an MTU of 1280 octets or
// greater"; an ICMPv6 error must fit in it (RFC 4443 2.4 (c)).
inline constexpr uint32_t kIpv6MinMtu = 1280;

inline constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);
inline constexpr uint32_t kIp6Len = sizeof(rte_ipv6_hdr);
inline constexpr uint32_t kIcmp6HdrLen = 8;  // type, code, checksum and one 32-bit field

// ff02::1 (RFC 4291 2.7.1).
inline constexpr Ip6 kAllNodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// RFC 4291 2.7.1: "Solicited-Node multicast address are computed as a function of a node's
// unicast and anycast addresses ... formed by taking the low-order 24 bits of an address ...
// and appending those bits to the prefix FF02:0:0:0:0:1:FF00::/104".
inline Ip6 solicited_node(const Ip6& a) {
    return Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13], a[14], a[15]};
}

// RFC 2464 7: an IPv6 multicast packet goes to the Ethernet address 33:33 followed by the last
// four octets of its destination.
inline rte_ether_addr multicast_mac(const Ip6& a) { return rte_ether_addr{{0x33, 0x33, a[12], a[13], a[14], a[15]}}; }

// The ICMPv6 checksum (RFC 4443 2.3) of the `len` bytes at `icmp`, over the pseudo-header of
// RFC 8200 8.1 (checksum6.hpp). With the checksum field zero it is the value to write; with
// the field in place a valid message gives 0.
inline uint16_t icmp6_checksum(const uint8_t* src, const uint8_t* dst, const void* icmp, uint32_t len) {
    return net::ip6_l4_checksum(net::Ip6Addr::from(src), net::Ip6Addr::from(dst), kProtoIcmp6, icmp, len);
}

// An Ethernet frame carrying IPv6 with ICMPv6 as its first next header, whole in the first
// segment. Neighbour discovery and echo messages carry no extension headers in practice; one
// that does is left to the kernel by the caller.
struct Icmp6Frame {
    rte_ether_hdr* eth = nullptr;
    rte_ipv6_hdr* ip = nullptr;
    uint8_t* icmp = nullptr;
    uint32_t icmp_len = 0;  // the IPv6 payload length (Ethernet padding excluded)
};

inline bool locate_icmp6(rte_mbuf* m, Icmp6Frame& f) {
    if (m->data_len < kEthLen + kIp6Len) return false;
    f.eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    f.ip = reinterpret_cast<rte_ipv6_hdr*>(f.eth + 1);
    if (f.eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) || (rte_be_to_cpu_32(f.ip->vtc_flow) >> 28) != 6 ||
        f.ip->proto != kProtoIcmp6)
        return false;
    f.icmp_len = rte_be_to_cpu_16(f.ip->payload_len);
    if (f.icmp_len > m->data_len - kEthLen - kIp6Len) return false;
    f.icmp = reinterpret_cast<uint8_t*>(f.ip + 1);
    return true;
}

// Writes an IPv6 header for an ICMPv6 message of `payload` bytes (flow label 0).
inline void fill_ip6(rte_ipv6_hdr* ip, uint16_t payload, uint8_t hop_limit, const Ip6& src, const Ip6& dst,
                     uint8_t traffic_class = 0) {
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | uint32_t{traffic_class} << RTE_IPV6_HDR_TC_SHIFT);
    ip->payload_len = rte_cpu_to_be_16(payload);
    ip->proto = kProtoIcmp6;
    ip->hop_limits = hop_limit;
    std::memcpy(ip->src_addr, src.data(), src.size());
    std::memcpy(ip->dst_addr, dst.data(), dst.size());
}

// Zeroes the checksum field of the ICMPv6 message behind `ip` and writes the right one.
inline void set_icmp6_checksum(rte_ipv6_hdr* ip, uint32_t icmp_len) {
    auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
    icmp[2] = icmp[3] = 0;
    const uint16_t c = icmp6_checksum(ip->src_addr, ip->dst_addr, icmp, icmp_len);
    std::memcpy(icmp + 2, &c, 2);
}

}  // namespace nfgate::engine

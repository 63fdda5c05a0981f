#include "bench/harness/frames6.hpp"

#include <arpa/inet.h>

#include <cstring>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

namespace nfgate::bench {

namespace {

constexpr size_t kEth = sizeof(rte_ether_hdr);
constexpr size_t kIp6 = sizeof(rte_ipv6_hdr);

size_t l4_header_len(uint8_t proto) { return proto == kTcp ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr); }

// RFC 8200 8.1: the pseudo-header is both addresses, the upper-layer length and the next
// header, written out here rather than taken from DPDK's helpers, so the check does not share
// code with what it checks.
uint32_t pseudo_header_sum(const Ip6& src, const Ip6& dst, uint32_t l4_len, uint8_t proto) {
    uint8_t ph[40] = {};
    std::memcpy(ph, src.data(), 16);
    std::memcpy(ph + 16, dst.data(), 16);
    const uint32_t len_be = rte_cpu_to_be_32(l4_len);
    std::memcpy(ph + 32, &len_be, 4);
    ph[39] = proto;
    return rte_raw_cksum(ph, sizeof ph);
}

uint16_t fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The checksum field's value, as it sits in memory (one's complement sums are byte-order
// independent), for a segment whose field is zero now.
uint16_t l4_checksum(const Ip6& src, const Ip6& dst, uint8_t proto, const void* l4, uint32_t len) {
    const uint16_t c = static_cast<uint16_t>(~fold(pseudo_header_sum(src, dst, len, proto) + rte_raw_cksum(l4, len)));
    // UDP over IPv6 must not carry zero (RFC 8200 8.1): all ones stands for it.
    return proto == kUdp && c == 0 ? 0xffff : c;
}

}  // namespace

rte_ether_addr neighbour_mac6(const Ip6& ip) {
    uint32_t w[4];
    std::memcpy(w, ip.data(), 16);
    const uint32_t f = rte_be_to_cpu_32(w[0] ^ w[1] ^ w[2] ^ w[3]);
    return rte_ether_addr{{0x02, 0x36, uint8_t(f >> 24), uint8_t(f >> 16), uint8_t(f >> 8), uint8_t(f)}};
}

std::string ip6_text(const Ip6& ip) {
    char b[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, ip.data(), b, sizeof b) ? b : "?";
}

void build_frame6(const FrameSpec6& s, uint8_t* out) {
    std::memset(out, 0, s.frame_len);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(out);
    eth->src_addr = s.src_mac;
    eth->dst_addr = s.dst_mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(out + kEth);
    const uint32_t l4_len = s.frame_len - kEth - kIp6;
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4_len));
    ip->proto = s.proto;
    ip->hop_limits = 64;
    std::memcpy(ip->src_addr, s.src.data(), 16);
    std::memcpy(ip->dst_addr, s.dst.data(), 16);
    uint8_t* l4 = out + kEth + kIp6;
    const uint32_t tag_be = rte_cpu_to_be_32(s.tag);
    std::memcpy(l4 + l4_header_len(s.proto), &tag_be, 4);
    if (s.proto == kTcp) {
        auto* t = reinterpret_cast<rte_tcp_hdr*>(l4);
        t->src_port = rte_cpu_to_be_16(s.sport);
        t->dst_port = rte_cpu_to_be_16(s.dport);
        t->sent_seq = rte_cpu_to_be_32(s.tag * 7919u);
        t->recv_ack = rte_cpu_to_be_32((s.tcp_flags & kAck) ? 1 : 0);
        t->data_off = 5 << 4;
        t->tcp_flags = s.tcp_flags;
        t->rx_win = rte_cpu_to_be_16(65535);
        t->cksum = l4_checksum(s.src, s.dst, kTcp, l4, l4_len);
    } else {
        auto* u = reinterpret_cast<rte_udp_hdr*>(l4);
        u->src_port = rte_cpu_to_be_16(s.sport);
        u->dst_port = rte_cpu_to_be_16(s.dport);
        u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4_len));
        u->dgram_cksum = l4_checksum(s.src, s.dst, kUdp, l4, l4_len);
    }
}

bool parse_frame6(const uint8_t* p, uint32_t len, Parsed6& o) {
    if (len < kEth + kIp6) return false;
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(p);
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) return false;
    o.src_mac = eth->src_addr;
    o.dst_mac = eth->dst_addr;
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(p + kEth);
    const uint32_t l4_len = rte_be_to_cpu_16(ip->payload_len);
    if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 || kEth + kIp6 + l4_len > len) return false;
    o.src = Ip6::from(ip->src_addr);
    o.dst = Ip6::from(ip->dst_addr);
    o.proto = ip->proto;
    o.hop_limit = ip->hop_limits;
    const uint8_t* l4 = p + kEth + kIp6;
    // A segment with its checksum in place sums to all ones with the pseudo-header.
    const uint16_t sum = fold(pseudo_header_sum(o.src, o.dst, l4_len, o.proto) + rte_raw_cksum(l4, l4_len));
    o.checksum_ok = sum == 0xffff;
    if (o.proto == kIcmp6) {
        if (l4_len < sizeof(rte_icmp_hdr)) return false;
        o.icmp_type = l4[0];
        // RFC 4861 4.3: the target address follows the 4 reserved bytes.
        if (o.icmp_type == kIcmp6NeighbourSolicit && l4_len >= 24) o.nd_target = Ip6::from(l4 + 8);
        return true;
    }
    if (o.proto != kTcp && o.proto != kUdp) return false;
    if (l4_len < l4_header_len(o.proto) + 4) return false;
    if (o.proto == kTcp) {
        const auto* t = reinterpret_cast<const rte_tcp_hdr*>(l4);
        o.sport = rte_be_to_cpu_16(t->src_port);
        o.dport = rte_be_to_cpu_16(t->dst_port);
        o.tcp_flags = t->tcp_flags;
    } else {
        const auto* u = reinterpret_cast<const rte_udp_hdr*>(l4);
        o.sport = rte_be_to_cpu_16(u->src_port);
        o.dport = rte_be_to_cpu_16(u->dst_port);
        o.checksum_ok &= u->dgram_cksum != 0;
    }
    uint32_t tag_be;
    std::memcpy(&tag_be, l4 + l4_header_len(o.proto), 4);
    o.tag = rte_be_to_cpu_32(tag_be);
    return true;
}

}  // namespace nfgate::bench

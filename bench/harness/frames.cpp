#include "bench/harness/frames.hpp"

#include <cstring>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

namespace nfgate::bench {

namespace {

constexpr size_t kEth = sizeof(rte_ether_hdr);
constexpr size_t kIp = sizeof(rte_ipv4_hdr);

size_t l4_header_len(uint8_t proto) {
    return proto == kTcp ? sizeof(rte_tcp_hdr) : proto == kUdp ? sizeof(rte_udp_hdr) : sizeof(rte_icmp_hdr);
}

// RFC 1071 check: the one's complement sum over pseudo-header and segment, checksum included,
// is all ones when the checksum is right.
bool l4_sum_ok(const rte_ipv4_hdr* ip, const void* l4, size_t len) {
    uint32_t sum = rte_ipv4_phdr_cksum(ip, 0);
    sum += rte_raw_cksum(l4, len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

}  // namespace

rte_ether_addr neighbour_mac(uint32_t ip) {
    return rte_ether_addr{{0x02, 0x4e, uint8_t(ip >> 24), uint8_t(ip >> 16), uint8_t(ip >> 8), uint8_t(ip)}};
}

void build_frame(const FrameSpec& s, uint8_t* out) {
    std::memset(out, 0, s.frame_len);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(out);
    eth->src_addr = s.src_mac;
    eth->dst_addr = s.dst_mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(out + kEth);
    const size_t l4_len = s.frame_len - kEth - kIp;
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIp + l4_len));
    ip->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(s.tag));
    ip->time_to_live = 64;
    ip->next_proto_id = s.proto;
    ip->src_addr = rte_cpu_to_be_32(s.src);
    ip->dst_addr = rte_cpu_to_be_32(s.dst);
    uint8_t* l4 = out + kEth + kIp;
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
        t->cksum = rte_ipv4_udptcp_cksum(ip, t);
    } else if (s.proto == kUdp) {
        auto* u = reinterpret_cast<rte_udp_hdr*>(l4);
        u->src_port = rte_cpu_to_be_16(s.sport);
        u->dst_port = rte_cpu_to_be_16(s.dport);
        u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4_len));
        u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
    } else {
        auto* c = reinterpret_cast<rte_icmp_hdr*>(l4);
        c->icmp_type = s.icmp_type;
        c->icmp_ident = rte_cpu_to_be_16(s.sport);
        c->icmp_seq_nb = rte_cpu_to_be_16(1);
        c->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(c, l4_len));
    }
    ip->hdr_checksum = rte_ipv4_cksum(ip);
}

void build_arp_reply(const rte_ether_addr& mac, uint32_t ip, const rte_ether_addr& req_mac, uint32_t req_ip,
                     uint8_t* out) {
    std::memset(out, 0, kMinFrame);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(out);
    eth->src_addr = mac;
    eth->dst_addr = req_mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(out + kEth);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_sha = mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(ip);
    arp->arp_data.arp_tha = req_mac;
    arp->arp_data.arp_tip = rte_cpu_to_be_32(req_ip);
}

bool parse_frame(const uint8_t* p, uint32_t len, Parsed& o) {
    if (len < kEth) return false;
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(p);
    o.ether_type = rte_be_to_cpu_16(eth->ether_type);
    o.src_mac = eth->src_addr;
    o.dst_mac = eth->dst_addr;
    if (o.ether_type == RTE_ETHER_TYPE_ARP) {
        if (len < kEth + sizeof(rte_arp_hdr)) return false;
        const auto* arp = reinterpret_cast<const rte_arp_hdr*>(p + kEth);
        o.arp_op = rte_be_to_cpu_16(arp->arp_opcode);
        o.arp_sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
        o.arp_tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
        o.arp_sha = arp->arp_data.arp_sha;
        return true;
    }
    if (o.ether_type != RTE_ETHER_TYPE_IPV4 || len < kEth + kIp) return false;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + kEth);
    const size_t ihl = rte_ipv4_hdr_len(ip);
    const size_t total = rte_be_to_cpu_16(ip->total_length);
    if (ihl != kIp || total < ihl || kEth + total > len) return false;
    o.src = rte_be_to_cpu_32(ip->src_addr);
    o.dst = rte_be_to_cpu_32(ip->dst_addr);
    o.proto = ip->next_proto_id;
    o.ttl = ip->time_to_live;
    const uint8_t* l4 = p + kEth + ihl;
    const size_t l4_len = total - ihl;
    if (l4_len < l4_header_len(o.proto) + 4) return false;
    bool l4_ok = false;
    if (o.proto == kTcp) {
        const auto* t = reinterpret_cast<const rte_tcp_hdr*>(l4);
        o.sport = rte_be_to_cpu_16(t->src_port);
        o.dport = rte_be_to_cpu_16(t->dst_port);
        o.tcp_flags = t->tcp_flags;
        l4_ok = l4_sum_ok(ip, t, l4_len);
    } else if (o.proto == kUdp) {
        const auto* u = reinterpret_cast<const rte_udp_hdr*>(l4);
        o.sport = rte_be_to_cpu_16(u->src_port);
        o.dport = rte_be_to_cpu_16(u->dst_port);
        l4_ok = u->dgram_cksum == 0 || l4_sum_ok(ip, u, l4_len);
    } else if (o.proto == kIcmp) {
        const auto* c = reinterpret_cast<const rte_icmp_hdr*>(l4);
        o.icmp_type = c->icmp_type;
        o.sport = o.dport = rte_be_to_cpu_16(c->icmp_ident);
        l4_ok = rte_raw_cksum(c, l4_len) == 0xffff;
    } else {
        return false;
    }
    uint32_t tag_be;
    std::memcpy(&tag_be, l4 + l4_header_len(o.proto), 4);
    o.tag = rte_be_to_cpu_32(tag_be);
    o.checksums_ok = l4_ok && rte_raw_cksum(ip, ihl) == 0xffff;
    return true;
}

}  // namespace nfgate::bench

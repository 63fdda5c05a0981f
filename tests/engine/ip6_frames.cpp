#include "tests/engine/ip6_frames.hpp"

#include <arpa/inet.h>
#include <rte_ip.h>

#include <cstring>

#include "tests/engine/packet_builder.hpp"

namespace nfgate::test {

using engine::Ip6;

std::string ip6_str(const Ip6& a) {
    char buf[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, a.data(), buf, sizeof buf) ? buf : "?";
}

std::vector<uint8_t> serialize6(const Frame6& f) {
    std::vector<uint8_t> out(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + f.payload.size() + f.eth_padding, 0);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(out.data());
    eth->dst_addr = f.eth_dst;
    eth->src_addr = f.eth_src;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | uint32_t{f.traffic_class} << 20);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(f.payload.size()));
    ip->proto = f.next_header;
    ip->hop_limits = f.hop_limit;
    std::memcpy(ip->src_addr, f.src.data(), 16);
    std::memcpy(ip->dst_addr, f.dst.data(), 16);
    auto* l4 = reinterpret_cast<uint8_t*>(ip + 1);
    if (!f.payload.empty()) std::memcpy(l4, f.payload.data(), f.payload.size());
    if (f.fix_checksum && f.next_header == engine::kProtoIcmp6 && f.payload.size() >= 4) {
        l4[2] = l4[3] = 0;
        const uint16_t c = rte_ipv6_udptcp_cksum(ip, l4);
        std::memcpy(l4 + 2, &c, 2);
    }
    return out;
}


std::vector<uint8_t> nd_body(uint8_t type, const Ip6& target, uint8_t flags, const std::vector<uint8_t>& options) {
    std::vector<uint8_t> b(24, 0);
    b[0] = type;
    b[4] = flags;
    std::memcpy(b.data() + 8, target.data(), 16);
    put_bytes(b, options.data(), options.size());
    return b;
}

std::vector<uint8_t> lladdr_option(uint8_t type, const rte_ether_addr& mac) {
    std::vector<uint8_t> o = {type, 1};
    put_bytes(o, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
    return o;
}

std::vector<uint8_t> icmp6_body(uint8_t type, uint8_t code, uint32_t field, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> b = {type, code, 0, 0, uint8_t(field >> 24), uint8_t(field >> 16), uint8_t(field >> 8),
                              uint8_t(field)};
    put_bytes(b, data.data(), data.size());
    return b;
}

Out6 parse_out6(const rte_mbuf* m) {
    Out6 o;
    o.frame_len = rte_pktmbuf_data_len(m);
    if (o.frame_len < sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr)) return o;
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    o.eth_src = eth->src_addr;
    o.eth_dst = eth->dst_addr;
    o.ether_type = rte_be_to_cpu_16(eth->ether_type);
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(eth + 1);
    const uint32_t vtc = rte_be_to_cpu_32(ip->vtc_flow);
    o.version = static_cast<uint8_t>(vtc >> 28);
    o.traffic_class = static_cast<uint8_t>(vtc >> 20);
    o.flow_label = vtc & 0xfffff;
    o.payload_len = rte_be_to_cpu_16(ip->payload_len);
    o.next_header = ip->proto;
    o.hop_limit = ip->hop_limits;
    o.src = engine::Ip6::from(ip->src_addr);
    o.dst = engine::Ip6::from(ip->dst_addr);
    const auto* l4 = reinterpret_cast<const uint8_t*>(ip + 1);
    const uint32_t have = o.frame_len - sizeof(rte_ether_hdr) - sizeof(rte_ipv6_hdr);
    o.payload.assign(l4, l4 + std::min<uint32_t>(have, o.payload_len));
    o.icmp6_csum_ok = have >= o.payload_len && ip->proto == engine::kProtoIcmp6 &&
                      rte_ipv6_udptcp_cksum(ip, l4) == 0;  // with the field in place: 0 when valid
    return o;
}

}  // namespace nfgate::test

#include "dataplane/engine/icmp_answer.hpp"

#include <algorithm>
#include <cstring>

#include "dataplane/engine/tcp_answer.hpp"
#include "dataplane/net/checksum.hpp"

namespace nfgate::engine {

namespace {

// Linux sends locally generated ICMP with TTL 64 and TOS 0xc0 (internetwork control).
constexpr uint8_t kAnswerTtl = 64;
constexpr uint8_t kIcmpTos = 0xc0;
constexpr size_t kEthLen = sizeof(rte_ether_hdr);

void turn_around_l2(rte_mbuf* m, const IfaceInfo& in_iface) {
    auto* eth = eth_of(m);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = in_iface.mac;
}

void set_frame_len(rte_mbuf* m, uint32_t len) {
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
}

void fill_ip(rte_ipv4_hdr* ip, uint8_t tos, uint16_t total, uint8_t proto, uint32_t src_be, uint32_t dst_be) {
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = tos;
    ip->total_length = rte_cpu_to_be_16(total);
    ip->packet_id = 0;
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = kAnswerTtl;
    ip->next_proto_id = proto;
    ip->src_addr = src_be;
    ip->dst_addr = dst_be;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = net::csum_finish(net::csum_partial(ip, sizeof(*ip)));
}

// RFC 1812 4.3.2.7: no ICMP error (and no reset) to an address that is not one host.
bool answerable_source(uint32_t src_be) {
    const uint32_t src = rte_be_to_cpu_32(src_be);
    return src != 0 && src < 0xe0000000u && (src >> 24) != 127;
}

}  // namespace

bool icmp_is_error(uint8_t type) {
    return type == net::kIcmpDestUnreachable || type == net::kIcmpTimeExceeded || type == net::kIcmpParamProblem;
}

bool make_echo_reply(rte_mbuf* m, const PacketMeta& pm, const IfaceInfo& in_iface) {
    if (m->nb_segs != 1) return false;
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(pm.l4);
    const uint16_t icmp_len = static_cast<uint16_t>(pm.l3_len - (pm.l4 - reinterpret_cast<uint8_t*>(pm.ip)));
    icmp->icmp_type = net::kIcmpEchoReply;
    icmp->icmp_code = 0;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = net::csum_finish(net::csum_partial(icmp, icmp_len));
    // The reply keeps identifier, sequence and data (RFC 792) and drops any IP options.
    const uint16_t total = static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + icmp_len);
    if (reinterpret_cast<uint8_t*>(icmp) != reinterpret_cast<uint8_t*>(pm.ip + 1))
        std::memmove(pm.ip + 1, icmp, icmp_len);
    fill_ip(pm.ip, pm.ip->type_of_service, total, net::kProtoIcmp, pm.dst, pm.src);
    turn_around_l2(m, in_iface);
    set_frame_len(m, kEthLen + total);
    return true;
}

bool make_icmp_error(rte_mbuf* m, const PacketMeta& pm, uint8_t type, uint8_t code, uint32_t src_ip,
                     const IfaceInfo& in_iface) {
    if (m->nb_segs != 1 || !answerable_source(pm.src)) return false;
    const uint32_t ihl = static_cast<uint32_t>(pm.l4 - reinterpret_cast<uint8_t*>(pm.ip));
    const uint32_t quote = std::min<uint32_t>(pm.l3_len, ihl + 8);
    constexpr uint32_t kPrefix = sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr);
    const uint32_t frame = kEthLen + kPrefix + quote;
    if (frame > static_cast<uint32_t>(m->buf_len - m->data_off)) return false;
    const uint32_t orig_src = pm.src;

    auto* ip = pm.ip;
    auto* quoted = reinterpret_cast<uint8_t*>(ip) + kPrefix;
    std::memmove(quoted, ip, quote);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    std::memset(icmp, 0, sizeof(*icmp));  // unused field (and next-hop MTU) stays zero
    icmp->icmp_type = type;
    icmp->icmp_code = code;
    icmp->icmp_cksum = net::csum_finish(net::csum_partial(icmp, sizeof(*icmp) + quote));
    fill_ip(ip, kIcmpTos, static_cast<uint16_t>(kPrefix + quote), net::kProtoIcmp, rte_cpu_to_be_32(src_ip), orig_src);
    turn_around_l2(m, in_iface);
    set_frame_len(m, frame);
    return true;
}

bool make_tcp_reset(rte_mbuf* m, const PacketMeta& pm, const IfaceInfo& in_iface) {
    if (m->nb_segs != 1 || !answerable_source(pm.src)) return false;
    const auto* in = reinterpret_cast<const rte_tcp_hdr*>(pm.l4);
    const uint32_t ihl = static_cast<uint32_t>(pm.l4 - reinterpret_cast<uint8_t*>(pm.ip));
    const rte_tcp_hdr rst = tcp_reset_answering(*in, pm.l3_len - ihl - ((in->data_off >> 4) * 4u));
    auto* ip = pm.ip;
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
    *tcp = rst;
    constexpr uint16_t kTotal = sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr);
    fill_ip(ip, 0, kTotal, net::kProtoTcp, pm.dst, pm.src);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    turn_around_l2(m, in_iface);
    set_frame_len(m, kEthLen + kTotal);
    return true;
}

bool make_cookie_syn_ack(rte_mbuf* m, const PacketMeta& pm, const IfaceInfo& in_iface, uint32_t cookie, uint16_t mss) {
    if (m->nb_segs != 1 || !answerable_source(pm.src)) return false;
    const CookieSynAck a = cookie_syn_ack_answering(*reinterpret_cast<const rte_tcp_hdr*>(pm.l4), cookie, mss);
    constexpr uint16_t kTotal = sizeof(rte_ipv4_hdr) + sizeof(CookieSynAck);
    if (kEthLen + kTotal > static_cast<uint32_t>(m->buf_len - m->data_off)) return false;
    auto* ip = pm.ip;
    std::memcpy(ip + 1, &a, sizeof a);
    fill_ip(ip, 0, kTotal, net::kProtoTcp, pm.dst, pm.src);
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    turn_around_l2(m, in_iface);
    set_frame_len(m, kEthLen + kTotal);
    return true;
}

}  // namespace nfgate::engine

#include "dataplane/engine/icmp6_answer.hpp"

#include <cstring>

#include <rte_tcp.h>

#include "dataplane/engine/tcp_answer.hpp"

namespace nfgate::engine {

namespace {

// Linux sends locally generated ICMPv6 with its default hop limit (net.ipv6.conf.*.hop_limit).
constexpr uint8_t kAnswerHopLimit = 64;

void turn_around_l2(rte_mbuf* m, const rte_ether_addr& iface_mac) {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = iface_mac;
}

// The answer is `len` bytes of the first segment; anything chained behind it goes.
void set_frame_len(rte_mbuf* m, uint32_t len) {
    if (m->next != nullptr) {
        rte_pktmbuf_free(m->next);
        m->next = nullptr;
        m->nb_segs = 1;
    }
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
}

// RFC 4443 2.4 (e.1), (e.2): "An ICMPv6 error message MUST NOT be originated as a result of
// receiving ... An ICMPv6 error message ... An ICMPv6 redirect message". The extension headers
// are walked to the upper-layer header; a chain that cannot be followed, or a later fragment
// (no ICMPv6 header in it, RFC 8200 4.5), is not one: Linux decides the same way.
bool about_error_or_redirect(const uint8_t* pkt, uint32_t len) {
    uint8_t next = reinterpret_cast<const rte_ipv6_hdr*>(pkt)->proto;
    uint32_t off = kIp6Len;
    for (;;) {
        switch (next) {
        case net::kProtoHopOpts:
        case net::kProtoRouting:
        case net::kProtoDstOpts:
            if (off + 2 > len) return false;
            next = pkt[off];
            off += (pkt[off + 1] + 1u) * 8;  // Hdr Ext Len: 8-octet units, not counting the first 8
            break;
        case net::kProtoFragment:
            if (off + 8 > len) return false;
            if ((pkt[off + 2] << 8 | pkt[off + 3]) & 0xfff8) return false;  // offset != 0
            next = pkt[off];
            off += 8;
            break;
        case kProtoIcmp6:
            // An ICMPv6 header cut off before its type may be an error: no answer.
            return off >= len || pkt[off] < kIcmp6EchoRequest || pkt[off] == kIcmp6Redirect;
        default:
            return false;
        }
    }
}

}  // namespace

bool icmp6_error_allowed(const rte_ether_addr& eth_dst, const uint8_t* ip6, uint32_t len, const Icmp6Error& e) {
    if (len < kIp6Len) return false;
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(ip6);
    // (e.6): "A packet whose source address does not uniquely identify a single node -- e.g.,
    // the IPv6 Unspecified Address, an IPv6 multicast address". Loopback never left a host.
    const Ip6 src = Ip6::from(ip->src_addr);
    if (net::ip6_is_unspecified(src) || net::ip6_is_multicast(src) || net::ip6_is_loopback(src)) return false;
    // (e.3)-(e.5): not to a packet sent to an IPv6 multicast address or as a link-layer
    // multicast or broadcast, except "the Packet Too Big Message ... [and] the Parameter Problem
    // Message, Code 2".
    const bool group_ok = e.type == kIcmp6PacketTooBig ||
                          (e.type == kIcmp6ParamProblem && e.code == kIcmp6CodeUnrecognisedOption);
    if (!group_ok && (net::ip6_is_multicast(Ip6::from(ip->dst_addr)) || rte_is_multicast_ether_addr(&eth_dst))) return false;
    return !about_error_or_redirect(ip6, len);
}

Icmp6Verdict make_echo6_reply(rte_mbuf* m, const rte_ether_addr& iface_mac) {
    Icmp6Frame f;
    if (m->nb_segs != 1 || !locate_icmp6(m, f)) return Icmp6Verdict::malformed;
    if (f.icmp_len < 1 || f.icmp[0] != kIcmp6EchoRequest) return Icmp6Verdict::wrong_type;
    if (f.icmp_len < kIcmp6HdrLen) return Icmp6Verdict::too_short;
    if (icmp6_checksum(f.ip->src_addr, f.ip->dst_addr, f.icmp, f.icmp_len) != 0) return Icmp6Verdict::bad_checksum;
    if (f.icmp[1] != 0) return Icmp6Verdict::bad_code;
    // The reply goes from the address asked to the asker: neither may be a group or nobody.
    const Ip6 src = Ip6::from(f.ip->src_addr);
    const Ip6 dst = Ip6::from(f.ip->dst_addr);
    if (net::ip6_is_multicast(dst) || net::ip6_is_unspecified(src) || net::ip6_is_multicast(src)) return Icmp6Verdict::not_answerable;
    // RFC 4443 4.2: "The data received in the ICMPv6 Echo Request message MUST be returned
    // entirely and unmodified in the ICMPv6 Echo Reply message" (identifier and sequence too).
    f.icmp[0] = kIcmp6EchoReply;
    const uint8_t traffic_class = static_cast<uint8_t>(rte_be_to_cpu_32(f.ip->vtc_flow) >> RTE_IPV6_HDR_TC_SHIFT);
    fill_ip6(f.ip, static_cast<uint16_t>(f.icmp_len), kAnswerHopLimit, dst, src, traffic_class);
    set_icmp6_checksum(f.ip, f.icmp_len);
    turn_around_l2(m, iface_mac);
    set_frame_len(m, kEthLen + kIp6Len + f.icmp_len);
    return Icmp6Verdict::answered;
}

Icmp6Verdict make_icmp6_error(rte_mbuf* m, const Icmp6Error& e, const Ip6& src, const rte_ether_addr& iface_mac) {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    if (m->data_len < kEthLen + kIp6Len || eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
        return Icmp6Verdict::malformed;
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    // What the first segment holds of the packet, without the Ethernet padding.
    const uint32_t len = std::min<uint32_t>(m->data_len - kEthLen, kIp6Len + rte_be_to_cpu_16(ip->payload_len));
    if (!icmp6_error_allowed(eth->dst_addr, reinterpret_cast<uint8_t*>(ip), len, e))
        return Icmp6Verdict::not_answerable;
    constexpr uint32_t kPrefix = kEthLen + kIp6Len + kIcmp6HdrLen;
    const uint32_t room = m->buf_len - m->data_off;
    if (room <= kPrefix) return Icmp6Verdict::no_room;
    const uint32_t quote = std::min(icmp6_quote_len(len), room - kPrefix);
    const Ip6 dst = Ip6::from(ip->src_addr);

    auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
    std::memmove(icmp + kIcmp6HdrLen, ip, quote);
    icmp[0] = e.type;
    icmp[1] = e.code;
    const uint32_t param = rte_cpu_to_be_32(e.param);
    std::memcpy(icmp + 4, &param, 4);
    const uint32_t icmp_len = kIcmp6HdrLen + quote;
    fill_ip6(ip, static_cast<uint16_t>(icmp_len), kAnswerHopLimit, src, dst);
    set_icmp6_checksum(ip, icmp_len);
    turn_around_l2(m, iface_mac);
    set_frame_len(m, kPrefix + quote);
    return Icmp6Verdict::answered;
}

bool make_tcp_reset6(rte_mbuf* m, const uint8_t* tcp_in, uint32_t seg_len, const rte_ether_addr& iface_mac) {
    constexpr uint32_t kFrame = kEthLen + kIp6Len + sizeof(rte_tcp_hdr);
    if (m->nb_segs != 1 || uint32_t{m->buf_len} - m->data_off < kFrame || seg_len < sizeof(rte_tcp_hdr)) return false;
    const auto* in = reinterpret_cast<const rte_tcp_hdr*>(tcp_in);
    const rte_tcp_hdr rst = tcp_reset_answering(*in, seg_len - std::min<uint32_t>(seg_len, (in->data_off >> 4) * 4u));
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, kEthLen);
    const Ip6 src = Ip6::from(ip->dst_addr);
    const Ip6 dst = Ip6::from(ip->src_addr);
    fill_ip6(ip, sizeof(rte_tcp_hdr), kAnswerHopLimit, src, dst);
    ip->proto = net::kProtoTcp;
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
    *tcp = rst;
    tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
    turn_around_l2(m, iface_mac);
    set_frame_len(m, kFrame);
    return true;
}

bool make_cookie_syn_ack6(rte_mbuf* m, const uint8_t* tcp_in, const rte_ether_addr& iface_mac, uint32_t cookie,
                          uint16_t mss) {
    constexpr uint32_t kFrame = kEthLen + kIp6Len + sizeof(CookieSynAck);
    if (m->nb_segs != 1 || uint32_t{m->buf_len} - m->data_off < kFrame) return false;
    const CookieSynAck a = cookie_syn_ack_answering(*reinterpret_cast<const rte_tcp_hdr*>(tcp_in), cookie, mss);
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, kEthLen);
    const Ip6 src = Ip6::from(ip->dst_addr);
    const Ip6 dst = Ip6::from(ip->src_addr);
    fill_ip6(ip, sizeof(CookieSynAck), kAnswerHopLimit, src, dst);
    ip->proto = net::kProtoTcp;
    std::memcpy(ip + 1, &a, sizeof a);
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
    tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
    turn_around_l2(m, iface_mac);
    set_frame_len(m, kFrame);
    return true;
}

}  // namespace nfgate::engine

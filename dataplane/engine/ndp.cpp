#include "dataplane/engine/ndp.hpp"

#include <cstring>

namespace nfgate::engine {

namespace {

// RFC 4861 4.6.1 option types and the Neighbour Advertisement flag bits of 4.4.
constexpr uint8_t kOptSourceLinkAddr = 1;
constexpr uint8_t kOptTargetLinkAddr = 2;
constexpr uint8_t kNaRouter = 0x80;
constexpr uint8_t kNaSolicited = 0x40;
constexpr uint8_t kNaOverride = 0x20;
constexpr uint8_t kNdHopLimit = 255;
constexpr uint32_t kTargetOffset = 8;
constexpr uint16_t kNdMessageLen = kNdFixedLen + kNdLinkOptionLen;

// The checks RFC 4861 7.1.1 and 7.1.2 share: "The IP Hop Limit field has a value of 255, i.e.,
// the packet could not possibly have been forwarded by a router. ICMP Checksum is valid. ICMP
// Code is 0. ICMP length (derived from the IP length) is 24 or more octets. Target Address is
// not a multicast address."
Icmp6Verdict check_nd(const rte_ipv6_hdr& ip, const uint8_t* icmp, uint32_t len, uint8_t type) {
    if (len < 1 || icmp[0] != type) return Icmp6Verdict::wrong_type;
    if (ip.hop_limits != kNdHopLimit) return Icmp6Verdict::bad_hop_limit;
    if (len < kNdFixedLen) return Icmp6Verdict::too_short;
    if (icmp6_checksum(ip.src_addr, ip.dst_addr, icmp, len) != 0) return Icmp6Verdict::bad_checksum;
    if (icmp[1] != 0) return Icmp6Verdict::bad_code;
    if (net::ip6_is_multicast(Ip6::from(icmp + kTargetOffset))) return Icmp6Verdict::multicast_target;
    return Icmp6Verdict::read;
}

// Walks the options after the fixed part and takes the first link-layer address option of
// `type`. RFC 4861 4.6: "Nodes MUST silently discard an ND packet that contains an option with
// length zero"; one running past the message is as broken. False for either.
bool read_link_option(const uint8_t* opt, uint32_t len, uint8_t type, bool& found, rte_ether_addr& mac) {
    found = false;
    while (len > 0) {
        if (len < 2 || opt[1] == 0) return false;
        const uint32_t opt_len = opt[1] * 8u;
        if (opt_len > len) return false;
        if (opt[0] == type && !found) {
            found = true;
            std::memcpy(mac.addr_bytes, opt + 2, RTE_ETHER_ADDR_LEN);
        }
        opt += opt_len;
        len -= opt_len;
    }
    return true;
}

// ff02::1:ff00:0/104 (RFC 4291 2.7.1), whatever the low 24 bits.
bool is_solicited_node(const Ip6& a) { return solicited_node(a) == a; }

void write_nd_frame(uint8_t* frame, const rte_ether_addr& eth_dst, const rte_ether_addr& eth_src, const Ip6& src,
                    const Ip6& dst, uint8_t type, uint8_t flags, const Ip6& target, uint8_t opt_type) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    eth->dst_addr = eth_dst;
    eth->src_addr = eth_src;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    fill_ip6(ip, kNdMessageLen, kNdHopLimit, src, dst);
    auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
    std::memset(icmp, 0, kNdMessageLen);
    icmp[0] = type;
    icmp[4] = flags;
    std::memcpy(icmp + kTargetOffset, target.data(), target.size());
    icmp[kNdFixedLen] = opt_type;
    icmp[kNdFixedLen + 1] = 1;  // in units of 8 octets: type, length and a 6-byte MAC
    std::memcpy(icmp + kNdFixedLen + 2, eth_src.addr_bytes, RTE_ETHER_ADDR_LEN);
    set_icmp6_checksum(ip, kNdMessageLen);
}

// `m` emptied (any chained segments freed) and sized for one ND frame; nullptr when it
// cannot hold one.
uint8_t* reset_to_nd_frame(rte_mbuf* m) {
    if (m->next != nullptr) {
        rte_pktmbuf_free(m->next);
        m->next = nullptr;
    }
    rte_pktmbuf_reset(m);
    return reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdFrameLen));
}

}  // namespace

Icmp6Verdict parse_ns(const rte_ipv6_hdr& ip, const uint8_t* icmp, uint32_t icmp_len, Solicitation& ns) {
    const Icmp6Verdict v = check_nd(ip, icmp, icmp_len, kIcmp6NeighbourSolicit);
    if (v != Icmp6Verdict::read) return v;
    if (!read_link_option(icmp + kNdFixedLen, icmp_len - kNdFixedLen, kOptSourceLinkAddr, ns.has_source_mac,
                          ns.source_mac))
        return Icmp6Verdict::bad_option_length;
    ns.src = Ip6::from(ip.src_addr);
    ns.target = Ip6::from(icmp + kTargetOffset);
    // RFC 4861 7.1.1: "If the IP source address is the unspecified address, the IP destination
    // address is a solicited-node multicast address. If the IP source address is the
    // unspecified address, there is no source link-layer address option in the message."
    if (net::ip6_is_unspecified(ns.src)) {
        if (!is_solicited_node(Ip6::from(ip.dst_addr))) return Icmp6Verdict::dad_not_to_solicited_node;
        if (ns.has_source_mac) return Icmp6Verdict::dad_with_source_lladdr;
    }
    return Icmp6Verdict::read;
}

Icmp6Verdict parse_na(const rte_ipv6_hdr& ip, const uint8_t* icmp, uint32_t icmp_len, Advertisement& na) {
    const Icmp6Verdict v = check_nd(ip, icmp, icmp_len, kIcmp6NeighbourAdvert);
    if (v != Icmp6Verdict::read) return v;
    if (!read_link_option(icmp + kNdFixedLen, icmp_len - kNdFixedLen, kOptTargetLinkAddr, na.has_target_mac,
                          na.target_mac))
        return Icmp6Verdict::bad_option_length;
    na.router = (icmp[4] & kNaRouter) != 0;
    na.solicited = (icmp[4] & kNaSolicited) != 0;
    na.override_flag = (icmp[4] & kNaOverride) != 0;
    na.target = Ip6::from(icmp + kTargetOffset);
    // RFC 4861 7.1.2: "If the IP Destination Address is a multicast address the Solicited flag
    // is zero."
    if (na.solicited && net::ip6_is_multicast(Ip6::from(ip.dst_addr))) return Icmp6Verdict::solicited_to_multicast;
    return Icmp6Verdict::read;
}

void write_na(uint8_t* frame, const NaFields& f) {
    const uint8_t flags = (f.router ? kNaRouter : 0) | (f.solicited ? kNaSolicited : 0) |
                          (f.override_flag ? kNaOverride : 0);
    write_nd_frame(frame, f.eth_dst, f.eth_src, f.src, f.dst, kIcmp6NeighbourAdvert, flags, f.target,
                   kOptTargetLinkAddr);
}

void write_ns(uint8_t* frame, const rte_ether_addr& mac, const Ip6& src, const Ip6& target) {
    const Ip6 group = solicited_node(target);
    write_nd_frame(frame, multicast_mac(group), mac, src, group, kIcmp6NeighbourSolicit, 0, target,
                   kOptSourceLinkAddr);
}

Icmp6Verdict read_ns(rte_mbuf* m, Solicitation& ns) {
    Icmp6Frame f;
    if (!locate_icmp6(m, f)) return Icmp6Verdict::malformed;
    ns.eth_src = f.eth->src_addr;
    return parse_ns(*f.ip, f.icmp, f.icmp_len, ns);
}

Icmp6Verdict read_na(rte_mbuf* m, Advertisement& na) {
    Icmp6Frame f;
    if (!locate_icmp6(m, f)) return Icmp6Verdict::malformed;
    return parse_na(*f.ip, f.icmp, f.icmp_len, na);
}

Icmp6Verdict reply_to_ns(rte_mbuf* m, const Solicitation& ns, const NdIface& iface) {
    NaFields na;
    na.eth_src = iface.mac;
    na.src = ns.target;  // RFC 4861 4.4: "An address assigned to the interface"; the target is ours
    na.target = ns.target;
    na.router = iface.router;
    // RFC 4861 7.2.4: "If the source of the solicitation is the unspecified address, the node
    // MUST set the Solicited flag to zero and multicast the advertisement to the all-nodes
    // address. Otherwise, the node MUST set the Solicited flag to one and unicast the
    // advertisement to the Source Address of the solicitation."
    if (net::ip6_is_unspecified(ns.src)) {
        na.dst = kAllNodes;
        na.eth_dst = multicast_mac(kAllNodes);
    } else {
        na.dst = ns.src;
        na.solicited = true;
        na.eth_dst = ns.has_source_mac ? ns.source_mac : ns.eth_src;
    }
    // The gateway owns what it answers for (its addresses and its VIPs, not a proxy's or an
    // anycast address): RFC 4861 7.2.4 asks for the Override flag, so a VIP that moved in
    // replaces the cache entry of the gateway it left.
    na.override_flag = true;
    uint8_t* frame = reset_to_nd_frame(m);
    if (frame == nullptr) return Icmp6Verdict::no_room;
    write_na(frame, na);
    return Icmp6Verdict::answered;
}

bool build_ns(rte_mbuf* m, const NdIface& iface, const Ip6& src, const Ip6& target) {
    uint8_t* frame = reset_to_nd_frame(m);
    if (frame == nullptr) return false;
    write_ns(frame, iface.mac, src, target);
    return true;
}

bool build_probe_ns(rte_mbuf* m, const NdIface& iface, const Ip6& src, const Ip6& target, const rte_ether_addr& mac) {
    uint8_t* frame = reset_to_nd_frame(m);
    if (frame == nullptr) return false;
    write_nd_frame(frame, mac, iface.mac, src, target, kIcmp6NeighbourSolicit, 0, target, kOptSourceLinkAddr);
    return true;
}

bool build_unsolicited_na(rte_mbuf* m, const NdIface& iface, const Ip6& addr) {
    uint8_t* frame = reset_to_nd_frame(m);
    if (frame == nullptr) return false;
    // RFC 4861 7.2.6: "The Target Address field in the unsolicited advertisement is set to an IP
    // address of the interface ... the Solicited flag MUST be set to zero ... the destination
    // address SHOULD be the all-nodes multicast address." Override is set: the point is to
    // replace what the neighbours hold (a VIP that moved in from another gateway).
    write_na(frame, NaFields{multicast_mac(kAllNodes), iface.mac, addr, kAllNodes, addr, iface.router, false, true});
    return true;
}

}  // namespace nfgate::engine

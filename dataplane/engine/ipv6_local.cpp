// IPv6 frames addressed to the gateway itself: neighbour discovery (answers for its addresses
// and in-subnet VIPs, and what solicitations and advertisements teach the neighbour table) and
// echo replies from its addresses. Everything else goes on to ipv6_flow.cpp.
#include "dataplane/engine/icmp6_answer.hpp"
#include "dataplane/engine/ndp.hpp"
#include "dataplane/engine/packet_parse6.hpp"
#include "dataplane/engine/slow_path.hpp"

namespace nfgate::engine {

namespace {

// This port's own MAC, or an IPv6 multicast group (33:33:xx:xx:xx:xx, RFC 2464 7): a
// solicitation goes to the target's solicited-node group.
bool for_this_port(rte_mbuf* m, const rte_ether_addr& mac) {
    const rte_ether_addr& dst = eth_of(m)->dst_addr;
    return rte_is_same_ether_addr(&dst, &mac) || (dst.addr_bytes[0] == 0x33 && dst.addr_bytes[1] == 0x33);
}

// An ICMPv6 message right after the fixed header, of `type`. Neighbour discovery never
// carries extension headers worth walking, and a duplicate address probe comes from `::`,
// which the general parser refuses as a martian source: read_ns() checks it by RFC 4861's rules.
bool plain_icmp6_of_type(rte_mbuf* m, uint8_t type) {
    constexpr uint32_t at = kEthLen + kIp6Len;
    if (rte_pktmbuf_data_len(m) < at + 1) return false;
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(p + kEthLen);
    return ip->proto == kProtoIcmp6 && p[at] == type;
}

}  // namespace

Fate on_ipv6(SlowCtx& c, rte_mbuf* m) {
    const IfaceInfo& in = c.st.ifaces()[c.in_port];
    if (!for_this_port(m, in.mac)) return c.drop(Reason::eth_not_for_us);
    if (plain_icmp6_of_type(m, kIcmp6NeighbourSolicit)) {
        Solicitation ns;
        auto owns = [&](const Ip6& target) { return c.st.answers_nd(c.in_port, target); };
        const Icmp6Verdict v = answer_ns(m, NdIface{in.mac, true}, owns, ns);
        // RFC 4861 7.2.3: a solicitation with a source link-layer address option updates the
        // sender's entry; it is created only when the solicitation is for the gateway.
        if (ns.has_source_mac && !ns.src.is_zero() && (v == Icmp6Verdict::answered || v == Icmp6Verdict::not_for_us)) {
            if (v == Icmp6Verdict::answered)
                c.worker.shared.neighbours6().learn(ns.src, ns.source_mac, c.now_s);
            else
                c.worker.shared.neighbours6().refresh(ns.src, ns.source_mac, c.now_s);
        }
        if (v == Icmp6Verdict::answered) return c.answer(Reason::nd_advert_sent);
        return c.drop(v == Icmp6Verdict::not_for_us ? Reason::nd_not_for_us : Reason::nd_invalid);
    }
    if (plain_icmp6_of_type(m, kIcmp6NeighbourAdvert)) {
        // RFC 4861 7.2.5: the advertisement answers a solicitation of ours (or announces a
        // change); its target link-layer address is the neighbour's.
        Advertisement na;
        if (read_na(m, na) != Icmp6Verdict::read || !na.has_target_mac) return c.drop(Reason::nd_invalid);
        if (na.solicited)
            c.worker.shared.neighbours6().learn(na.target, na.target_mac, c.now_s);
        else
            c.worker.shared.neighbours6().refresh(na.target, na.target_mac, c.now_s);
        // The kernel behind the exception path solicits its own next hops: it hears the answers.
        if (c.worker.exceptions.attached()) return Fate::kernel;
        return c.drop(Reason::nd_learned);
    }
    PacketMeta6 pm;
    Reason why{};
    if (!parse_ipv6_packet(m, pm, why)) return c.drop(why);
    if (c.worker.shared.flows6() == nullptr && pm.proto == kProtoIcmp6 && pm.icmp_type == kIcmp6EchoRequest &&
        !pm.fragment && c.st.is_local6(pm.dst)) {
        // No IPv6 flow table (nothing to forward): the gateway's addresses still answer ping.
        return make_echo6_reply(m, in.mac) == Icmp6Verdict::answered ? c.answer(Reason::echo6_reply_sent)
                                                                     : c.drop(Reason::icmp_untracked);
    }
    return on_ipv6_packet(c, m, pm);
}

}  // namespace nfgate::engine

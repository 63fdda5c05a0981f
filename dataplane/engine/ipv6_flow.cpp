// The fast path's IPv6 forwarding, packet by packet: the IPv6 flow table (ConntrackTable6) for
// established flows, and on a miss the same decisions as IPv4's new_flow.cpp over the
// snapshot's IPv6 half (service_table6.hpp): Service frontends to a Maglev-chosen IPv6
// endpoint (NAT66, masquerade by the same rules), pod egress masquerade, inbound connections to
// pods tracked untranslated, plain routing of the rest; then hop limit, route and neighbour
// (solicited when unknown).
//
// ICMPv6 errors about a translated flow are translated back (icmp6_error_nat.hpp), fragments
// of translated TCP/UDP follow their first fragment (fragment_table6.hpp), a packet longer than
// the egress link's ipv6MTU is answered with Packet Too Big.
#include <cstring>

#include "dataplane/engine/icmp6_answer.hpp"
#include "dataplane/engine/icmp6_error_nat.hpp"
#include "dataplane/engine/ipv6_hit.hpp"
#include "dataplane/engine/flow_insert.hpp"
#include "dataplane/engine/fragment_table6.hpp"
#include "dataplane/engine/miss_decision.hpp"
#include "dataplane/engine/miss_decision6.hpp"
#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/engine/ndp.hpp"
#include "dataplane/engine/packet_parse6.hpp"
#include "dataplane/engine/slow_path.hpp"
#include "dataplane/engine/syn_proxy_miss.hpp"

namespace nfgate::engine {

namespace {

// The next hop's MAC is not known: the packet, complete but for its Ethernet header, waits in
// the worker's NeighbourWait6 while a solicitation from the egress port's address (one per
// target and second) asks for it; without room to wait it is given up and its mbuf carries the
// solicitation instead.
Fate solicit(SlowCtx& c, rte_mbuf* m, uint16_t port, const Ip6& target) {
    const Ip6* src = c.st.v6().address_of(port);
    const bool ask = src != nullptr && c.worker.v6->nd_limiter.should_request(fold6(target), c.now_ns);
    const NdIface iface{c.st.ifaces()[port].mac};
    c.out_port = port;
    if (c.worker.v6->waiting.park(target, port, m, c.now_ns)) {
        rte_mbuf* ns = ask ? rte_pktmbuf_alloc(m->pool) : nullptr;
        if (ns != nullptr && !build_ns(ns, iface, *src, target)) {
            rte_pktmbuf_free(ns);
            ns = nullptr;
        }
        c.solicitation = ns;
        return Fate::parked;
    }
    c.counters.count(Reason::neighbour_unresolved);
    if (!ask || !build_ns(m, iface, *src, target)) return Fate::drop;
    return Fate::routed;
}

// RFC 8200 5 / RFC 4443 3.2: a packet longer than the egress link's MTU is answered with
// Packet Too Big from the input interface's address. The packet may be translated already:
// the error then goes back as any error about that flow (icmp6_error_nat.hpp), to the client
// with the quote it sent, as Linux's NAT does with the error its forward path makes.
Fate packet_too_big(SlowCtx& c, rte_mbuf* m, uint32_t mtu) {
    const Ip6* src = c.st.v6().address_of(c.in_port);
    if (src == nullptr ||
        make_icmp6_error(m, packet_too_big6(mtu), *src, c.st.ifaces()[c.in_port].mac) != Icmp6Verdict::answered)
        return c.drop(Reason::reject_not_sent);
    PacketMeta6 err;
    Reason why{};
    if (parse_ipv6_packet(m, err, why)) translate_icmp6_error(*c.worker.shared.flows6(), err);
    return c.answer(Reason::packet_too_big_sent);
}

}  // namespace

// Hop limit, route, neighbour and Ethernet header (RFC 8200 3: the hop limit goes down by one
// at every node that forwards).
Fate route_ipv6(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm, bool* resolved) {
    NextHop6 nh;
    if (!c.st.v6().route(pm.dst, nh)) return c.drop(Reason::no_route);
    const uint32_t mtu = c.st.v6().mtu(nh.port);
    if (too_big_for_link(kIp6Len + pm.payload_len, mtu)) return packet_too_big(c, m, mtu);
    --pm.ip->hop_limits;
    const Ip6& hop = ServiceTable6::neighbour_of(pm.dst, nh);
    rte_ether_addr mac;
    if (!c.worker.shared.neighbours6().lookup(hop, mac, c.now_s)) return solicit(c, m, nh.port, hop);
    auto* eth = eth_of(m);
    eth->dst_addr = mac;
    eth->src_addr = c.st.ifaces()[nh.port].mac;
    c.out_port = nh.port;
    if (resolved != nullptr) *resolved = true;
    return Fate::routed;
}

namespace {

Fate route6(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm) { return route_ipv6(c, m, pm, nullptr); }

// RFC 4443 3.3: a packet whose hop limit would reach zero is answered with Time Exceeded from
// the input interface's address.
Fate hop_limit_exceeded(SlowCtx& c, rte_mbuf* m) {
    const Ip6* src = c.st.v6().address_of(c.in_port);
    if (src != nullptr && make_icmp6_error(m, kHopLimitExceeded6, *src, c.st.ifaces()[c.in_port].mac) == Icmp6Verdict::answered)
        return c.answer(Reason::ttl_exceeded_sent);
    return c.drop(Reason::ttl_expired);
}

// A Service without endpoints, or an allocated ClusterIP on a port no Service serves: TCP
// reset, otherwise ICMPv6 port unreachable, from the address the client used.
Fate reject6(SlowCtx& c, rte_mbuf* m, const PacketMeta6& pm) {
    const rte_ether_addr& mac = c.st.ifaces()[c.in_port].mac;
    if (pm.proto == net::kProtoTcp) {
        if (pm.tcp_flags & net::kTcpRst) return c.drop(Reason::tcp_invalid_no_syn);
        return make_tcp_reset6(m, pm.l4, pm.l4_len, mac) ? c.answer(Reason::reset_sent) : c.drop(Reason::reject_not_sent);
    }
    return make_icmp6_error(m, kPortUnreachable6, pm.dst, mac) == Icmp6Verdict::answered
               ? c.answer(Reason::port_unreachable_sent)
               : c.drop(Reason::reject_not_sent);
}

// The SNAT pool of the address of the port that leads to `toward`; -1 without a route or an
// address there.
int egress_pool6(SlowCtx& c, const Ip6& toward, Ip6& addr) {
    NextHop6 nh;
    if (!c.st.v6().route(toward, nh)) return -1;
    const Ip6* a = c.st.v6().address_of(nh.port);
    if (a == nullptr) return -1;
    addr = *a;
    return c.worker.shared.snat6_pool_of(addr);
}

ct::FlowEntry6* insert_flow6(SlowCtx& c, ct::FlowInit6& fi, int pool, Reason& why, bool* fresh = nullptr) {
    return insert_flow_into(c, *c.worker.shared.flows6(), c.worker.shared.snat6(), fi, pool, why, fresh);
}

Fate answer_with_cookie6(SlowCtx& c, rte_mbuf* m, const PacketMeta6& pm) {
    uint16_t mss = 0;
    const uint32_t cookie = cookie_for_syn(c, pm, mss);
    return make_cookie_syn_ack6(m, pm.l4, c.st.ifaces()[c.in_port].mac, cookie, mss) ? c.answer(Reason::syn_cookie_sent)
                                                                                    : c.drop(Reason::reject_not_sent);
}

// Affinity pins the client (folded) to a backend remembered by its folded address and port.
const Backend6& choose_backend6(SlowCtx& c, const ServicePort6& p, const Ip6& client, const ct::FlowKey6& orig) {
    const ServicePortEntry& base = *p.base;
    AffinityTable& aff = c.worker.shared.affinity();
    const uint32_t id = base.id ^ kAffinityIdV6;
    if (const Backend6* pinned = pinned_backend6(aff, p, client, c.now_s)) {
        aff.remember(fold6(client), id, fold6(pinned->ip), pinned->port, c.now_s, base.affinity_timeout_s);
        return *pinned;
    }
    const Backend6& b = hashed_backend6(p, orig);
    if (base.affinity_client_ip) aff.remember(fold6(client), id, fold6(b.ip), b.port, c.now_s, base.affinity_timeout_s);
    return b;
}

Fate new_service_flow6(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm, const ServiceMatch6& sm) {
    const ServicePort6& p = *sm.port;
    const ServicePortEntry& base = *p.base;
    const CookieAck proxied = cookie_ack(c, pm);
    const uint8_t flags =
        proxied.valid ? net::kTcpSyn : pm.tcp_flags & (net::kTcpSyn | net::kTcpAck | net::kTcpRst | net::kTcpFin);
    const bool external = sm.kind != VipKind::cluster_ip;
    const bool mid_stream = pm.proto == net::kProtoTcp && flags != net::kTcpSyn;
    if (mid_stream && !(flags == net::kTcpAck && base.etp_local && external)) return c.drop(Reason::tcp_invalid_no_syn);
    if (!source_range_allows6(sm, pm.src)) return c.drop(Reason::source_range_denied);
    if (p.backends.empty()) return reject6(c, m, pm);
    if (answers_with_cookie(c, pm)) return answer_with_cookie6(c, m, pm);
    if (c.st.source_limit().on() && !c.worker.sources.admit(fold6(pm.src), c.now_ns, c.st.source_limit()))
        return c.drop(Reason::new_flow_rate_limited);

    const ct::FlowKey6 orig = ct::make_key6(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
    const Backend6& b = choose_backend6(c, p, pm.src, orig);
    const bool snat = service_needs_snat6(c.st, sm, pm.src, b.ip);
    if (mid_stream && snat) return c.drop(Reason::tcp_invalid_no_syn);
    Ip6 snat_addr;
    const int pool = egress_pool6(c, b.ip, snat_addr);
    if (pool < 0 && snat) return c.drop(Reason::no_route);

    ct::FlowInit6 fi;
    fi.orig = orig;
    fi.reply = ct::make_key6(b.ip, snat ? snat_addr : pm.src, rte_cpu_to_be_16(b.port), pm.sport, pm.proto);
    fi.tcp_flags = proxied.valid ? net::kTcpSyn : pm.tcp_flags;
    fi.tag = service_flow_tag(sm.slot);
    if (proxied.valid) {
        fi.flags = ct::kFlowSynProxy | ct::kFlowSynProxyPending;
        fi.seq_shift = proxied.cookie;
    }
    Reason why{};
    bool fresh = true;
    ct::FlowEntry6* e = insert_flow6(c, fi, snat ? pool : -1, why, &fresh);
    if (e == nullptr) return c.drop(why);
    if (proxied.valid && !proxied_open(c, *c.worker.shared.flows6(), *e, fresh, m, pm, proxied, why)) return c.drop(why);
    rewrite6(pm, *e, ct::Dir::orig);
    ++c.counters.forwarded_nat;
    if (mid_stream) c.counters.count(Reason::tcp_picked_up);
    c.worker.frontends.connection(sm.slot);
    c.worker.frontends.packet(sm.slot, sizeof(rte_ipv6_hdr) + pm.payload_len);
    return route6(c, m, pm);
}

Fate new_masquerade_flow6(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm) {
    if (pm.proto == net::kProtoTcp && !tcp_opens(pm.tcp_flags)) return c.drop(Reason::tcp_invalid_no_syn);
    Ip6 snat_addr;
    const int pool = egress_pool6(c, pm.dst, snat_addr);
    if (pool < 0) return c.drop(Reason::no_route);
    ct::FlowInit6 fi;
    fi.orig = ct::make_key6(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
    fi.reply = ct::make_key6(pm.dst, snat_addr, pm.dport, pm.sport, pm.proto);
    fi.tcp_flags = pm.tcp_flags;
    Reason why{};
    ct::FlowEntry6* e = insert_flow6(c, fi, pool, why);
    if (e == nullptr) return c.drop(why);
    rewrite6(pm, *e, ct::Dir::orig);
    ++c.counters.forwarded_nat;
    return route6(c, m, pm);
}

// Outside -> pod, routed untouched, tracked so its replies are not taken for pod egress.
Fate new_passthrough_flow6(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm) {
    if (pm.proto == net::kProtoUdp || (pm.proto == net::kProtoTcp && tcp_opens(pm.tcp_flags))) {
        ct::FlowInit6 fi;
        fi.orig = ct::make_key6(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
        fi.reply = fi.orig.reversed();
        fi.tcp_flags = pm.tcp_flags;
        fi.tag = kFlowPassthrough;
        Reason why{};
        if (insert_flow6(c, fi, -1, why) == nullptr) c.counters.count(why);
    }
    ++c.counters.forwarded_plain;
    return route6(c, m, pm);
}

}  // namespace

Fate on_ipv6_miss(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm) {
    const MissDecision6 d = decide_miss6(c.st, pm.src, pm.dst, pm.proto, rte_be_to_cpu_16(pm.dport), pm.icmp_type);
    switch (d.kind) {
        case MissKind::echo_to_gateway:
            return make_echo6_reply(m, c.st.ifaces()[c.in_port].mac) == Icmp6Verdict::answered
                       ? c.answer(Reason::echo6_reply_sent)
                       : c.drop(Reason::icmp_untracked);
        case MissKind::service: return new_service_flow6(c, m, pm, d.match);
        case MissKind::dropped: return c.drop(d.reason);
        case MissKind::to_kernel: return c.to_kernel(d.reason);
        case MissKind::rejected: return reject6(c, m, pm);
        case MissKind::egress_masquerade: return new_masquerade_flow6(c, m, pm);
        case MissKind::passthrough: return new_passthrough_flow6(c, m, pm);
        case MissKind::forward: break;
    }
    ++c.counters.forwarded_plain;
    return route6(c, m, pm);
}

namespace {

// A packet of a trackable flow: looked up, then as a hit or a miss.
Fate tracked(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm, const ct::ConntrackTable6& flows) {
    const ct::FlowRef6 ref = flows.lookup(ct::make_key6(pm.src, pm.dst, pm.sport, pm.dport, pm.proto));
    if (ref) {
        switch (on_ipv6_hit(c, m, pm, ref)) {
            case Hit6::forward: return route6(c, m, pm);
            case Hit6::dropped: return Fate::drop;
            case Hit6::remake: break;
        }
    }
    return on_ipv6_miss(c, m, pm);
}

// A fragment after the first: the addresses its first fragment left with, or routed as it is
// when that one was not translated. To a translated address without its first fragment it
// cannot go on.
Fate later_fragment6(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm) {
    const ServiceTable6& t = c.st.v6();
    if (const FragmentAddrs6* a = c.worker.v6->fragments.find(FragmentKey6{pm.src, pm.dst, pm.frag_id, pm.proto}, c.now_ns)) {
        if (pm.hop_limit <= 1) return hop_limit_exceeded(c, m);
        std::memcpy(pm.ip->src_addr, a->src.data(), 16);
        std::memcpy(pm.ip->dst_addr, a->dst.data(), 16);
        pm.src = a->src;
        pm.dst = a->dst;
        ++c.counters.forwarded_nat;
        return route6(c, m, pm);
    }
    if (c.st.is_local6(pm.dst) || t.is_service_address(pm.dst) || t.in_service_cidrs(pm.dst))
        return c.drop(Reason::fragment_without_first);
    if (pm.hop_limit <= 1) return hop_limit_exceeded(c, m);
    ++c.counters.forwarded_plain;
    return route6(c, m, pm);
}

}  // namespace

Fate on_ipv6_packet(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm) {
    ct::ConntrackTable6* flows = c.worker.shared.flows6();
    if (flows == nullptr) return c.drop(Reason::ip6_not_forwarded);
    // Ping of a gateway address, from anywhere on its links.
    if (pm.proto == net::kProtoIcmpv6 && pm.icmp_type == net::kIcmp6EchoRequest && !pm.fragment &&
        c.st.is_local6(pm.dst))
        return on_ipv6_miss(c, m, pm);
    // RFC 4291 2.5.6: link-local addresses never leave their link; a router without multicast
    // routing forwards no group traffic.
    if (net::ip6_is_link_local(pm.src) || net::ip6_is_link_local(pm.dst)) return c.drop(Reason::ip6_link_local);
    if (net::ip6_is_multicast(pm.dst)) return c.drop(Reason::ip_not_unicast);
    const ServiceTable6& t = c.st.v6();
    const bool local = c.st.is_local6(pm.dst);
    Reason why{};
    if (!routing_header_allows(pm, local || t.is_service_address(pm.dst), why)) return c.drop(why);
    if (pm.later_fragment) return later_fragment6(c, m, pm);
    if (pm.proto == net::kProtoIcmpv6 && icmp6_is_error(pm.icmp_type) && pm.segments_left == 0 && !pm.fragment &&
        translate_icmp6_error(*flows, pm)) {
        // About a translated flow: on to its peer (no error about an error when it cannot go).
        if (pm.hop_limit <= 1) return c.drop(Reason::ttl_expired);
        ++c.counters.forwarded_nat;
        return route6(c, m, pm);
    }
    if (pm.segments_left != 0 || !ipv6_trackable(pm)) {
        // Routed by address only (other protocols, ICMPv6 errors, a routing header's waypoint),
        // never to a Service address; the gateway's own are its kernel's.
        if (local) return c.to_kernel(pm.proto == net::kProtoIcmpv6 ? Reason::icmp_untracked : Reason::local_delivery_unsupported);
        if (t.is_service_address(pm.dst) || t.in_service_cidrs(pm.dst))
            return c.drop(pm.proto == net::kProtoIcmpv6 ? Reason::icmp_untracked : Reason::unsupported_protocol);
        if (pm.hop_limit <= 1) return hop_limit_exceeded(c, m);
        ++c.counters.forwarded_plain;
        return route6(c, m, pm);
    }
    if (pm.hop_limit <= 1 && !local) return hop_limit_exceeded(c, m);
    if (!pm.fragment) return tracked(c, m, pm, *flows);
    if (pm.proto != net::kProtoTcp && pm.proto != net::kProtoUdp) {
        // A fragmented ping cannot be keyed by its identifier in later fragments.
        if (local) return c.to_kernel(Reason::icmp_untracked);
        if (t.is_service_address(pm.dst) || t.in_service_cidrs(pm.dst)) return c.drop(Reason::fragment_of_nat_flow);
        ++c.counters.forwarded_plain;
        return route6(c, m, pm);
    }
    // The first fragment holds the ports: it takes the flow path, and the addresses it leaves
    // with are kept for the later ones.
    const FragmentKey6 k{pm.src, pm.dst, pm.frag_id, pm.proto};
    const Fate f = tracked(c, m, pm, *flows);
    if ((f == Fate::routed || f == Fate::parked) && !c.worker.v6->fragments.remember(k, FragmentAddrs6{pm.src, pm.dst}, c.now_ns))
        c.counters.count(Reason::fragment_table_evicted);
    return f;
}

}  // namespace nfgate::engine

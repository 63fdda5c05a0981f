// The flow-table miss path: answers for the gateway's own addresses, new Service flows (source
// ranges, reject without endpoints, Maglev/affinity backend choice, masquerade decision, SNAT
// port, insert under both keys), pod egress masquerade, and plain routing of the rest.
#include <algorithm>

#include "dataplane/conntrack/snat_ports.hpp"
#include "dataplane/engine/backend_pick.hpp"
#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/engine/flow_insert.hpp"
#include "dataplane/engine/fragment_table.hpp"
#include "dataplane/engine/icmp_answer.hpp"
#include "dataplane/engine/miss_decision.hpp"
#include "dataplane/engine/slow_path.hpp"
#include "dataplane/engine/syn_proxy_miss.hpp"

namespace nfgate::engine {

namespace {

// "A Service with no ready endpoints rejects": TCP reset, otherwise ICMP port unreachable
// from the address the client used.
Fate reject(SlowCtx& c, rte_mbuf* m, const PacketMeta& pm) {
    const IfaceInfo& in = c.st.ifaces()[c.in_port];
    if (pm.proto == net::kProtoTcp) {
        if (pm.tcp_flags & net::kTcpRst) return c.drop(Reason::tcp_invalid_no_syn);  // never answer a reset
        return make_tcp_reset(m, pm, in) ? c.answer(Reason::reset_sent) : c.drop(Reason::reject_not_sent);
    }
    const bool ok = make_icmp_error(m, pm, net::kIcmpDestUnreachable, net::kIcmpCodePortUnreachable, rte_be_to_cpu_32(pm.dst), in);
    return ok ? c.answer(Reason::port_unreachable_sent) : c.drop(Reason::reject_not_sent);
}

ct::FlowEntry* insert_flow(SlowCtx& c, ct::FlowInit& fi, int pool, Reason& why, bool* fresh = nullptr) {
    return insert_flow_into(c, c.worker.flows, c.worker.shared.snat(), fi, pool, why, fresh);
}

// Pool of the gateway address on the interface that leads to `toward` (host order); -1 when
// there is no route.
int egress_pool(SlowCtx& c, uint32_t toward, uint32_t& addr_be) {
    NextHop nh;
    if (!c.st.routes().lookup(toward, nh)) return -1;
    addr_be = rte_cpu_to_be_32(c.st.ifaces()[nh.port].ip);
    return c.worker.shared.snat().pool_of(addr_be);
}

// A client pinned by affinity keeps its backend (and the pin is refreshed); otherwise Maglev.
const Backend& choose_backend(SlowCtx& c, const ServicePortEntry& p, uint32_t client, const ct::FlowKey& orig) {
    AffinityTable& aff = c.worker.shared.affinity();
    const Backend* pinned = pinned_backend(aff, p, client, c.now_s);
    const Backend& b = pinned != nullptr ? *pinned : hashed_backend(p, static_cast<uint32_t>(ct::flow_hash(orig)));
    if (p.affinity_client_ip) aff.remember(client, p.id, b.ip, b.port, c.now_s, p.affinity_timeout_s);
    return b;
}

Fate answer_with_cookie(SlowCtx& c, rte_mbuf* m, const PacketMeta& pm) {
    uint16_t mss = 0;
    const uint32_t cookie = cookie_for_syn(c, pm, mss);
    return make_cookie_syn_ack(m, pm, c.st.ifaces()[c.in_port], cookie, mss) ? c.answer(Reason::syn_cookie_sent)
                                                                           : c.drop(Reason::reject_not_sent);
}

Fate new_service_flow(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, const ServiceMatch& sm, net::CsumDelta& ip_delta) {
    const ServicePortEntry& p = *sm.port;
    const uint32_t client = rte_be_to_cpu_32(pm.src);
    const CookieAck proxied = cookie_ack(c, pm);
    const uint8_t opening_flags = proxied.valid ? net::kTcpSyn : pm.tcp_flags;
    Reason refused{};
    if (!service_admits(sm, client, pm.proto, opening_flags, refused)) return c.drop(refused);
    if (p.backends.empty()) return reject(c, m, pm);
    if (answers_with_cookie(c, pm)) return answer_with_cookie(c, m, pm);
    if (c.st.source_limit().on() && !c.worker.sources.admit(client, c.now_ns, c.st.source_limit()))
        return c.drop(Reason::new_flow_rate_limited);

    const ct::FlowKey orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
    const Backend& b = choose_backend(c, p, client, orig);
    const bool snat = service_needs_snat(c.st, sm, client, b.ip);
    const bool mid_stream = pm.proto == net::kProtoTcp && !tcp_opens(opening_flags);
    if (mid_stream && snat) return c.drop(Reason::tcp_invalid_no_syn);  // masquerade.all, hairpin
    uint32_t snat_addr_be = 0;
    const int pool = egress_pool(c, b.ip, snat_addr_be);
    if (pool < 0 && snat) return c.drop(Reason::no_route);

    ct::FlowInit fi;
    fi.orig = orig;
    fi.reply = ct::make_key(rte_cpu_to_be_32(b.ip), snat ? snat_addr_be : pm.src, rte_cpu_to_be_16(b.port), pm.sport,
                            pm.proto);
    fi.tcp_flags = opening_flags;
    fi.tag = service_flow_tag(sm.slot);
    if (proxied.valid) {
        fi.flags = ct::kFlowSynProxy | ct::kFlowSynProxyPending;
        fi.seq_shift = proxied.cookie;
    }
    Reason why{};
    bool fresh = true;
    ct::FlowEntry* e = insert_flow(c, fi, snat ? pool : -1, why, &fresh);
    if (e == nullptr) return c.drop(why);
    if (proxied.valid && !proxied_open(c, c.worker.flows, *e, fresh, m, pm, proxied, why)) return c.drop(why);
    rewrite_flow(pm, *e, ct::Dir::orig, ip_delta);
    ++c.counters.forwarded_nat;
    if (mid_stream) c.counters.count(Reason::tcp_picked_up);
    c.worker.frontends.connection(sm.slot);
    c.worker.frontends.packet(sm.slot, rte_be_to_cpu_16(pm.ip->total_length));
    return Fate::forward;
}

Fate new_masquerade_flow(SlowCtx& c, PacketMeta& pm, net::CsumDelta& ip_delta) {
    if (pm.proto == net::kProtoTcp && !tcp_opens(pm.tcp_flags)) return c.drop(Reason::tcp_invalid_no_syn);
    uint32_t snat_addr_be = 0;
    const int pool = egress_pool(c, rte_be_to_cpu_32(pm.dst), snat_addr_be);
    if (pool < 0) return c.drop(Reason::no_route);
    ct::FlowInit fi;
    fi.orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
    fi.reply = ct::make_key(pm.dst, snat_addr_be, pm.dport, pm.sport, pm.proto);
    fi.tcp_flags = pm.tcp_flags;
    Reason why{};
    ct::FlowEntry* e = insert_flow(c, fi, pool, why);
    if (e == nullptr) return c.drop(why);
    rewrite_flow(pm, *e, ct::Dir::orig, ip_delta);
    ++c.counters.forwarded_nat;
    return Fate::forward;
}

// A connection opened from outside to a pod is routed untouched, but its replies look like pod
// egress: tracked without translation (as the kernel's conntrack would hold it), they match
// this flow instead of being masqueraded or refused as mid-stream.
Fate new_passthrough_flow(SlowCtx& c, PacketMeta& pm) {
    const bool opens = pm.proto == net::kProtoUdp || (pm.proto == net::kProtoTcp && tcp_opens(pm.tcp_flags));
    if (opens) {
        ct::FlowInit fi;
        fi.orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
        fi.reply = fi.orig.reversed();
        fi.tcp_flags = pm.tcp_flags;
        fi.tag = kFlowPassthrough;
        Reason why{};
        // A refused insert still routes this packet; only its replies would then be masqueraded.
        if (insert_flow(c, fi, -1, why) == nullptr) c.counters.count(why);
    }
    ++c.counters.forwarded_plain;
    return Fate::forward;
}

Fate flow_miss_fate(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, net::CsumDelta& ip_delta) {
    const MissDecision d = decide_miss(c.st, rte_be_to_cpu_32(pm.src), rte_be_to_cpu_32(pm.dst), pm.proto,
                                       rte_be_to_cpu_16(pm.dport), pm.icmp_type);
    switch (d.kind) {
        case MissKind::echo_to_gateway:
            return make_echo_reply(m, pm, c.st.ifaces()[c.in_port]) ? c.answer(Reason::echo_reply_sent)
                                                                    : c.drop(Reason::icmp_untracked);
        case MissKind::service: return new_service_flow(c, m, pm, d.match, ip_delta);
        case MissKind::dropped: return c.drop(d.reason);
        case MissKind::to_kernel: return c.to_kernel(d.reason);
        case MissKind::rejected: return reject(c, m, pm);
        case MissKind::egress_masquerade: return new_masquerade_flow(c, pm, ip_delta);
        case MissKind::passthrough: return new_passthrough_flow(c, pm);
        case MissKind::forward: break;
    }
    ++c.counters.forwarded_plain;
    return Fate::forward;
}

}  // namespace

Fate on_flow_miss(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, net::CsumDelta& ip_delta) {
    const uint32_t orig_src = pm.src, orig_dst = pm.dst;
    const Fate f = flow_miss_fate(c, m, pm, ip_delta);
    // The later fragments of a forwarded first fragment leave with the same addresses.
    if (pm.fragment && f == Fate::forward)
        remember_first_fragment(c.worker.fragments, c.counters, orig_src, orig_dst, pm.ip, c.now_ns);
    return f;
}

}  // namespace nfgate::engine

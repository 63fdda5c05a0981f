#include "dataplane/engine/miss_decision.hpp"


#include "dataplane/net/protocols.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/slow_path.hpp"

namespace nfgate::engine {

bool tcp_opens(uint8_t flags) {
    return (flags & (net::kTcpSyn | net::kTcpAck | net::kTcpRst | net::kTcpFin)) == net::kTcpSyn;
}

bool tcp_picks_up(const ServiceMatch& sm, uint8_t flags) {
    return (flags & (net::kTcpSyn | net::kTcpAck | net::kTcpRst | net::kTcpFin)) == net::kTcpAck &&
           sm.port->etp_local && sm.kind != VipKind::cluster_ip;
}

MissDecision decide_miss(const ServiceTable& st, uint32_t src, uint32_t dst, uint8_t proto, uint16_t dport,
                         uint8_t icmp_type) {
    auto dropped = [](Reason r) { return MissDecision{MissKind::dropped, r, {}}; };
    if (martian_source(st, src)) return dropped(Reason::martian_source);
    if (martian_destination(dst)) return dropped(Reason::martian_destination);
    const bool local = st.is_local(dst);
    const bool icmp = proto == net::kProtoIcmp;
    if (icmp && local)
        return icmp_type == net::kIcmpEchoRequest ? MissDecision{MissKind::echo_to_gateway, {}, {}}
                                             : MissDecision{MissKind::to_kernel, Reason::icmp_untracked, {}};
    if (!icmp) {
        const ServiceMatch sm = st.lookup(dst, proto, dport);
        if (sm.port != nullptr) return MissDecision{MissKind::service, {}, sm};
    }
    if (local) return MissDecision{MissKind::to_kernel, Reason::local_delivery_unsupported, {}};
    if (st.is_service_address(dst)) {
        // kube-proxy rejects an allocated ClusterIP on a port no Service serves.
        if (st.is_cluster_ip(dst) && !icmp) return MissDecision{MissKind::rejected, {}, {}};
        return dropped(icmp ? Reason::icmp_untracked : Reason::local_delivery_unsupported);
    }
    if (st.in_service_cidrs(dst)) return dropped(Reason::unallocated_cluster_ip);
    if (!ip_is_unicast(dst)) return dropped(Reason::ip_not_unicast);
    if (st.egress_masquerade(src, dst) && (!icmp || icmp_type == net::kIcmpEchoRequest))
        return MissDecision{MissKind::egress_masquerade, {}, {}};
    if (!icmp && st.egress_masquerade(dst, src)) return MissDecision{MissKind::passthrough, {}, {}};
    return MissDecision{};
}

bool service_admits(const ServiceMatch& sm, uint32_t client, uint8_t proto, uint8_t tcp_flags, Reason& why) {
    if (proto == net::kProtoTcp && !tcp_opens(tcp_flags) && !tcp_picks_up(sm, tcp_flags)) {
        why = Reason::tcp_invalid_no_syn;
        return false;
    }
    if (sm.kind == VipKind::lb_ip && !sm.port->source_allowed(client)) {
        why = Reason::source_range_denied;
        return false;
    }
    return true;
}

const Backend* pinned_backend(const AffinityTable& aff, const ServicePortEntry& p, uint32_t client, uint32_t now_s) {
    if (!p.affinity_client_ip) return nullptr;
    Backend pinned;
    if (!aff.find(client, p.id, now_s, pinned.ip, pinned.port)) return nullptr;
    return p.find_backend(pinned.ip, pinned.port);
}

}  // namespace nfgate::engine

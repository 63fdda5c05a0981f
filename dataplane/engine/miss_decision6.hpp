// The IPv6 twin of miss_decision.hpp: what an IPv6 flow-table miss decides before anything is
// written, as pure reads of the snapshot's IPv6 half (and, for affinity, a lookup without
// refresh), so the worker's miss path (ipv6_flow.cpp) and `nfgatectl trace` run the same code.
#pragma once

#include <cstdint>

#include "dataplane/conntrack/flow6.hpp"
#include "dataplane/engine/affinity_table.hpp"
#include "dataplane/engine/miss_decision.hpp"
#include "dataplane/engine/service_table.hpp"
#include "dataplane/engine/service_table6.hpp"
#include "dataplane/net/ipv6_addr.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::engine {

struct MissDecision6 {
    MissKind kind = MissKind::forward;
    Reason reason{};     // kind == dropped or to_kernel
    ServiceMatch6 match; // kind == service
};

// Affinity entries are keyed by a 32-bit client: IPv6 ones live beside IPv4's under another id.
inline constexpr uint32_t kAffinityIdV6 = 0x36000000u;

// An IPv6 address folded to 32 bits: the key of the per-source limiter, the affinity table and
// the solicitation pacing, whose keys are IPv4-sized (a collision only shares a budget).
inline uint32_t fold6(const Ip6& a) { return static_cast<uint32_t>(net::ip6_spread(a) >> 32); }

// `icmp_type` only for ICMPv6 (`proto` 58).
inline MissDecision6 decide_miss6(const ServiceTable& st, const Ip6& src, const Ip6& dst, uint8_t proto,
                                  uint16_t dport, uint8_t icmp_type) {
    const ServiceTable6& t = st.v6();
    const bool local = st.is_local6(dst);
    const bool icmp = proto == net::kProtoIcmpv6;
    if (local && icmp && icmp_type == net::kIcmp6EchoRequest) return {MissKind::echo_to_gateway};
    if (st.is_local6(src) || t.is_service_address(src)) return {MissKind::dropped, Reason::martian_source};
    if (!icmp) {
        const ServiceMatch6 sm = t.lookup(dst, proto, dport);
        if (sm.port != nullptr) return {MissKind::service, {}, sm};
    }
    // The gateway's own address (a nodePort matched above), no flow of its own: its kernel's.
    if (local) return {MissKind::to_kernel, icmp ? Reason::icmp_untracked : Reason::local_delivery_unsupported};
    if (t.is_service_address(dst)) {
        if (t.is_cluster_ip(dst) && !icmp) return {MissKind::rejected};
        return {MissKind::dropped, icmp ? Reason::icmp_untracked : Reason::local_delivery_unsupported};
    }
    if (t.in_service_cidrs(dst)) return {MissKind::dropped, Reason::unallocated_cluster_ip};
    if (t.egress_masquerade(src, dst, false) && (!icmp || icmp_type == net::kIcmp6EchoRequest))
        return {MissKind::egress_masquerade};
    if (!icmp && t.egress_masquerade(dst, src, false)) return {MissKind::passthrough};
    return {MissKind::forward};
}

// loadBalancerSourceRanges of an LB IP frontend.
inline bool source_range_allows6(const ServiceMatch6& sm, const Ip6& client) {
    if (sm.kind != VipKind::lb_ip || sm.port->source_ranges.empty()) return true;
    for (const Cidr6& r : sm.port->source_ranges)
        if (r.contains(client)) return true;
    return false;
}

// The backend a ClientIP affinity entry still valid pins `client` to; nullptr when none.
inline const Backend6* pinned_backend6(const AffinityTable& aff, const ServicePort6& p, const Ip6& client, uint32_t now_s) {
    if (!p.base->affinity_client_ip) return nullptr;
    uint32_t ip32 = 0;
    uint16_t port = 0;
    if (!aff.find(fold6(client), p.base->id ^ kAffinityIdV6, now_s, ip32, port)) return nullptr;
    for (const Backend6& b : p.backends)
        if (b.port == port && fold6(b.ip) == ip32) return &b;
    return nullptr;
}

// Maglev's choice for the flow.
inline const Backend6& hashed_backend6(const ServicePort6& p, const ct::FlowKey6& orig) {
    return p.backends[p.maglev.pick(static_cast<uint32_t>(ct::flow_hash(orig)))];
}

// As service_needs_snat for IPv4: pods keep their address, externalTrafficPolicy: Local keeps
// the client's on external frontends, a hairpin is always masqueraded.
inline bool service_needs_snat6(const ServiceTable& st, const ServiceMatch6& sm, const Ip6& client, const Ip6& backend_ip) {
    const bool external = sm.kind != VipKind::cluster_ip;
    return st.masquerade_all() || (!st.v6().in_cluster(client) && !(sm.port->base->etp_local && external)) ||
           backend_ip == client;
}

}  // namespace nfgate::engine

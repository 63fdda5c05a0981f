#include "dataplane/engine/trace.hpp"

#include <rte_byteorder.h>

#include "dataplane/conntrack/flow.hpp"
#include "dataplane/engine/miss_decision.hpp"
#include "dataplane/engine/miss_decision6.hpp"

namespace nfgate::engine {

namespace {

// The backends as the trace lists them: into `out` (candidates or candidates6), and as text.
template <class Backends, class Endpoints>
std::string list_endpoints(const Backends& backends, Endpoints& out) {
    std::string list;
    for (const auto& b : backends) {
        out.push_back({b.ip, b.port, true});
        list += (list.empty() ? "" : ", ") + endpoint_str(b.ip, b.port);
    }
    return list;
}

const char* kind_text(VipKind k) {
    switch (k) {
        case VipKind::cluster_ip: return "ClusterIP";
        case VipKind::external_ip: return "externalIP";
        case VipKind::lb_ip: return "LoadBalancer IP";
        case VipKind::node_port: return "NodePort";
    }
    return "?";
}

// The gateway address on the interface toward `dst`, as the SNAT pools use it.
bool egress_address(const ServiceTable& st, uint32_t dst, uint32_t& addr, std::string& how) {
    NextHop nh;
    if (!st.routes().lookup(dst, nh)) return false;
    addr = st.ifaces()[nh.port].ip;
    how = "interface " + std::to_string(nh.port) + (nh.gateway ? " via " + ip_to_string(nh.gateway) : " (on link)");
    return true;
}

void drop(TraceResult& r, Reason why) {
    r.verdict = "drop";
    r.reason = std::string(reason_name(why));
}

// The steps of a Service flow's trace after admission, in the same words for both families.
// "endpoints": false when there are none, and the packet is rejected (`unreachable`: the
// family's ICMP answer to UDP).
bool endpoints_step(TraceResult& r, size_t n, const std::string& list, uint8_t proto, const char* unreachable) {
    r.steps.push_back({"endpoints", std::to_string(n) + " ready" + (list.empty() ? "" : ": " + list)});
    if (n != 0) return true;
    r.verdict = "reject";
    r.reason = proto == 6 ? "no ready endpoint: TCP reset" : std::string("no ready endpoint: ") + unreachable;
    return false;
}

// "backend choice": `client` pinned to `chosen` by ClientIP affinity, or Maglev's slot for `hash`.
void choice_step(TraceResult& r, bool pinned, const std::string& client, const std::string& chosen, uint32_t hash,
                 bool affinity) {
    r.steps.push_back({"backend choice", pinned ? "ClientIP affinity pins " + client + " to " + chosen
                                                : "Maglev slot for 5-tuple hash " + std::to_string(hash) + " -> " + chosen +
                                                      (affinity ? " (then remembered for ClientIP affinity)" : "")});
}

// "route" (when there is none toward the backend) and "source NAT"; the verdict. False when the
// packet is dropped: it must be masqueraded and there is no route to take it out.
bool nat_steps(TraceResult& r, bool snat, bool routed, const std::string& backend, const std::string& addr,
               const std::string& how) {
    if (!routed) {
        r.steps.push_back({"route", "no route to " + backend});
        if (snat) {
            drop(r, Reason::no_route);
            return false;
        }
    }
    r.steps.push_back({"source NAT", snat ? "masquerade to " + addr + " (" + how + ")"
                                          : "client address kept (in-cluster client or externalTrafficPolicy: Local)"});
    r.masquerade = snat;
    r.verdict = "forward";
    return true;
}

void service_flow(const ServiceTable& st, const AffinityTable& aff, const TracePacket& p, uint32_t now_s,
                  const ServiceMatch& sm, TraceResult& r) {
    const ServicePortEntry& e = *sm.port;
    r.service = e.name.substr(0, e.name.find(':'));
    r.steps.push_back({"service lookup", std::string(kind_text(sm.kind)) + " " + endpoint_str(p.dst, p.dport) + " is " +
                                             e.name});
    Reason why{};
    // A trace stands for a connection's first packet: a SYN for TCP.
    if (!service_admits(sm, p.src, p.proto, net::kTcpSyn, why)) {
        r.steps.push_back({"admission", std::string(reason_name(why))});
        return drop(r, why);
    }
    if (!endpoints_step(r, e.backends.size(), list_endpoints(e.backends, r.candidates), p.proto, "ICMP port unreachable"))
        return;
    const Backend* pinned = pinned_backend(aff, e, p.src, now_s);
    const ct::FlowKey key = ct::make_key(rte_cpu_to_be_32(p.src), rte_cpu_to_be_32(p.dst), rte_cpu_to_be_16(p.sport),
                                         rte_cpu_to_be_16(p.dport), p.proto);
    const uint32_t hash = static_cast<uint32_t>(ct::flow_hash(key));
    const Backend& b = pinned != nullptr ? *pinned : hashed_backend(e, hash);
    r.chosen = Endpoint{b.ip, b.port, true};
    choice_step(r, pinned != nullptr, ip_to_string(p.src), endpoint_str(b.ip, b.port), hash, e.affinity_client_ip);
    const bool snat = service_needs_snat(st, sm, p.src, b.ip);
    uint32_t addr = 0;
    std::string how;
    const bool routed = egress_address(st, b.ip, addr, how);
    if (nat_steps(r, snat, routed, ip_to_string(b.ip), ip_to_string(addr), how) && snat) r.snat = addr;
}

// The IPv6 twin of egress_address: the global address of the port that leads to `dst`.
bool egress_address6(const ServiceTable& st, const Ip6& dst, Ip6& addr, std::string& how) {
    NextHop6 nh;
    if (!st.v6().route(dst, nh)) return false;
    const Ip6* a = st.v6().address_of(nh.port);
    if (a == nullptr) return false;
    addr = *a;
    how = "interface " + std::to_string(nh.port) + (nh.gateway.is_zero() ? " (on link)" : " via " + ip6_to_string(nh.gateway));
    return true;
}

void service_flow6(const ServiceTable& st, const AffinityTable& aff, const TracePacket& p, uint32_t now_s,
                   const ServiceMatch6& sm, TraceResult& r) {
    const ServicePort6& e = *sm.port;
    r.service = e.base->name.substr(0, e.base->name.find(':'));
    r.steps.push_back({"service lookup", std::string(kind_text(sm.kind)) + " " + endpoint_str(p.dst6, p.dport) + " is " +
                                             e.base->name});
    if (!source_range_allows6(sm, p.src6)) {
        r.steps.push_back({"admission", std::string(reason_name(Reason::source_range_denied))});
        return drop(r, Reason::source_range_denied);
    }
    if (!endpoints_step(r, e.backends.size(), list_endpoints(e.backends, r.candidates6), p.proto, "ICMPv6 port unreachable"))
        return;
    const Backend6* pinned = pinned_backend6(aff, e, p.src6, now_s);
    const ct::FlowKey6 key =
        ct::make_key6(p.src6, p.dst6, rte_cpu_to_be_16(p.sport), rte_cpu_to_be_16(p.dport), p.proto);
    const Backend6& b = pinned != nullptr ? *pinned : hashed_backend6(e, key);
    r.chosen6 = Endpoint6{b.ip, b.port, true};
    choice_step(r, pinned != nullptr, ip6_to_string(p.src6), endpoint_str(b.ip, b.port),
                static_cast<uint32_t>(ct::flow_hash(key)), e.base->affinity_client_ip);
    const bool snat = service_needs_snat6(st, sm, p.src6, b.ip);
    Ip6 addr;
    std::string how;
    const bool routed = egress_address6(st, b.ip, addr, how);
    if (nat_steps(r, snat, routed, ip6_to_string(b.ip), ip6_to_string(addr), how) && snat) r.snat6 = addr;
}

// A miss that is not a Service flow, in either family: `dst` is the destination's text,
// `route` the way toward it (empty: none), `snat` the address masquerade would take (empty:
// none there). True when the packet leaves masqueraded (the caller records the address).
bool other_miss(TraceResult& r, MissKind kind, Reason reason, const std::string& dst, uint16_t dport,
                const std::string& route, const std::string& snat) {
    switch (kind) {
        case MissKind::service: break;
        case MissKind::dropped:
            r.steps.push_back({"classification", "not a Service frontend: " + std::string(reason_name(reason))});
            drop(r, reason);
            break;
        case MissKind::to_kernel:
            r.steps.push_back({"classification", dst + " is the gateway's own address, no NodePort on " + std::to_string(dport)});
            r.verdict = "local";
            r.reason = "to the gateway's kernel (exception path; dropped as " + std::string(reason_name(reason)) +
                       " where none runs)";
            break;
        case MissKind::rejected:
            r.steps.push_back({"classification", dst + " is a ClusterIP, no Service on port " + std::to_string(dport)});
            r.verdict = "reject";
            r.reason = "allocated ClusterIP, unserved port";
            break;
        case MissKind::echo_to_gateway:
            r.verdict = "local";
            r.reason = "echo answered by the worker";
            break;
        case MissKind::egress_masquerade:
        case MissKind::passthrough:
        case MissKind::forward:
            r.steps.push_back({"route", !route.empty() ? "to " + dst + " out " + route : "no route to " + dst});
            if (route.empty() || (kind == MissKind::egress_masquerade && snat.empty())) {
                drop(r, Reason::no_route);
                break;
            }
            r.verdict = "forward";
            if (kind == MissKind::egress_masquerade) {
                r.steps.push_back({"source NAT", "pod egress outside nonMasqueradeCIDRs: masquerade to " + snat});
                r.masquerade = true;
                return true;
            }
            r.steps.push_back({"source NAT", kind == MissKind::passthrough
                                                 ? "none (a connection from outside to a pod: tracked, untranslated)"
                                                 : "none (routed untouched)"});
            break;
    }
    return false;
}

TraceResult trace_new_flow6(const ServiceTable& st, const AffinityTable& aff, const TracePacket& p, uint32_t now_s) {
    TraceResult r;
    const MissDecision6 d = decide_miss6(st, p.src6, p.dst6, p.proto, p.dport, 0);
    if (d.kind == MissKind::service) {
        service_flow6(st, aff, p, now_s, d.match, r);
        return r;
    }
    // One route lookup: the way out, and the masquerade address of the port it leaves by.
    NextHop6 nh;
    const bool routed = st.v6().route(p.dst6, nh);
    const Ip6* addr = routed ? st.v6().address_of(nh.port) : nullptr;
    if (other_miss(r, d.kind, d.reason, ip6_to_string(p.dst6), p.dport, routed ? "interface " + std::to_string(nh.port) : "",
                   addr != nullptr ? ip6_to_string(*addr) : ""))
        r.snat6 = *addr;
    return r;
}

}  // namespace

TraceResult trace_new_flow(const ServiceTable& st, const AffinityTable& aff, const TracePacket& p, uint32_t now_s) {
    if (p.ipv6) return trace_new_flow6(st, aff, p, now_s);
    TraceResult r;
    const MissDecision d = decide_miss(st, p.src, p.dst, p.proto, p.dport, 0);
    if (d.kind == MissKind::service) {
        service_flow(st, aff, p, now_s, d.match, r);
        return r;
    }
    uint32_t addr = 0;
    std::string how;
    const bool routed = egress_address(st, p.dst, addr, how);
    if (other_miss(r, d.kind, d.reason, ip_to_string(p.dst), p.dport, routed ? how : "", routed ? ip_to_string(addr) : ""))
        r.snat = addr;
    return r;
}

}  // namespace nfgate::engine

#include "control/bgp/announce.hpp"

#include <algorithm>

#include "model/endpoint_choice.hpp"

namespace nfgate::bgp {

namespace {

// Served at all: ready endpoints, or terminating ones that still serve (chosen_endpoints).
bool has_ready_endpoint(const Service& s) {
    return std::any_of(s.ports.begin(), s.ports.end(), [](const ServicePort& p) { return chosen_count(p) > 0; });
}


// One family's prefixes: `pick(s, k)` gives a Service's addresses of that family (k: 0
// load-balancer, 1 external, 2 cluster), `host` makes one a host prefix, `cidrs` are the
// family's serviceCIDRs, `served` says whether the Service has endpoints of that family.
template <class C, class Pick, class Host>
std::vector<C> announced(const Model& m, Pick&& pick, Host&& host, const std::vector<C>& cidrs, bool (*served)(const Service&)) {
    std::vector<C> out;
    if (!m.bgp.enabled) return out;
    const BgpAnnounce& a = m.bgp.announce;
    for (const Service& s : m.services) {
        if (!served(s)) continue;
        const bool wanted[3] = {a.load_balancer_ips, a.external_ips, a.cluster_ips};
        for (unsigned k = 0; k < 3; ++k)
            if (wanted[k])
                for (const auto& ip : pick(s, k)) out.push_back(host(ip));
    }
    if (a.service_cidrs) out.insert(out.end(), cidrs.begin(), cidrs.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// An IPv6 address is served when some port has a chosen IPv6 endpoint.
bool has_ready_endpoint6(const Service& s) {
    return std::any_of(s.ports.begin(), s.ports.end(), [](const ServicePort& p) { return chosen_count6(p) > 0; });
}

}  // namespace

std::vector<Cidr> announced_prefixes(const Model& m) {
    auto pick = [](const Service& s, unsigned k) -> const std::vector<uint32_t>& {
        return k == 0 ? s.lb_ips : k == 1 ? s.external_ips : s.cluster_ips;
    };
    return announced<Cidr>(m, pick, [](uint32_t ip) { return Cidr{ip, 32}; }, m.service_cidrs, has_ready_endpoint);
}

std::vector<Cidr6> announced_prefixes6(const Model& m) {
    auto pick = [](const Service& s, unsigned k) -> const std::vector<Ip6>& {
        return k == 0 ? s.lb_ips6 : k == 1 ? s.external_ips6 : s.cluster_ips6;
    };
    return announced<Cidr6>(m, pick, [](const Ip6& ip) { return Cidr6{ip, 128}; }, m.service_cidrs6, has_ready_endpoint6);
}



}  // namespace nfgate::bgp

#include "control/bgp/announce.hpp"

#include <algorithm>

#include "model/endpoint_choice.hpp"

namespace nfgate::bgp {

namespace {

// Served at all: ready endpoints, or terminating ones that still serve (chosen_endpoints).
bool has_ready_endpoint(const Service& s) {
    return std::any_of(s.ports.begin(), s.ports.end(), [](const ServicePort& p) { return chosen_count(p) > 0; });
}

}  // namespace

std::vector<Cidr> announced_prefixes(const Model& m) {
    std::vector<Cidr> out;
    if (!m.bgp.enabled) return out;
    const BgpAnnounce& a = m.bgp.announce;
    auto add = [&](const std::vector<uint32_t>& ips) {
        for (uint32_t ip : ips) out.push_back(Cidr{ip, 32});
    };
    for (const Service& s : m.services) {
        if (!has_ready_endpoint(s)) continue;
        if (a.load_balancer_ips) add(s.lb_ips);
        if (a.external_ips) add(s.external_ips);
        if (a.cluster_ips) add(s.cluster_ips);
    }
    if (a.service_cidrs) out.insert(out.end(), m.service_cidrs.begin(), m.service_cidrs.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace nfgate::bgp

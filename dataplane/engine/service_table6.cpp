#include "dataplane/engine/service_table6.hpp"

#include <cstring>

#include "dataplane/engine/service_table.hpp"
#include "dataplane/net/ipv6_addr.hpp"
#include "model/endpoint_choice.hpp"

namespace nfgate::engine {

namespace {

uint64_t fnv64(const void* p, size_t n, uint64_t h = 14695981039346656037ull) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

// A backend's Maglev identity: its address folded to 32 bits by a hash every gateway computes
// alike, so gateways given the same IPv6 endpoints pick alike (as for IPv4).
lb::MaglevBackend maglev_id(const Backend6& b) {
    const uint64_t h = fnv64(b.ip.data(), 16);
    return lb::MaglevBackend{static_cast<uint32_t>(h ^ h >> 32), b.port};
}

}  // namespace

ServiceTable6::Route::Route(const Cidr6& c, const Ip6& v, uint16_t p) : to(c), via(v), port(p) {
    Ip6 ones;
    ones.b.fill(0xff);
    const Ip6 mask = ip6_prefix(ones, c.len);
    std::memcpy(&mask_hi, mask.data(), 8);
    std::memcpy(&mask_lo, mask.data() + 8, 8);
    std::memcpy(&net_hi, c.addr.data(), 8);
    std::memcpy(&net_lo, c.addr.data() + 8, 8);
    net_hi &= mask_hi;
    net_lo &= mask_lo;
}

namespace {

// A new flow asks these maps once or twice: two multiplies over the address's halves, not a
// byte loop.
uint64_t mix_ip6(const Ip6& a, uint64_t seed) {
    uint64_t h, l;
    std::memcpy(&h, a.data(), 8);
    std::memcpy(&l, a.data() + 8, 8);
    const uint64_t x = (h ^ seed) * 0x9e3779b97f4a7c15ull;
    return (x ^ (x >> 29) ^ l) * 0xbf58476d1ce4e5b9ull;
}

}  // namespace

size_t ServiceTable6::KeyHash::operator()(const Key& k) const {
    const uint64_t x = mix_ip6(k.ip, uint64_t{k.proto} << 16 | k.port);
    return x ^ (x >> 31);
}

size_t ServiceTable6::IpHash::operator()(const Ip6& a) const {
    const uint64_t x = mix_ip6(a, 0);
    return x ^ (x >> 31);
}

bool ServiceTable6::build(const Model& m, const std::vector<const ServicePortEntry*>& bases, FrontendSlots& slots,
                          std::string& err) {
    if (!build_routes(m, err)) return false;
    service_cidrs_ = m.service_cidrs6;
    cluster_cidrs_ = m.cluster_cidrs6;
    non_masq_ = m.masquerade.non_masquerade_cidrs6;
    masquerade_egress_ = m.masquerade.egress;
    size_t next = 0;
    for (size_t s = 0; s < m.services.size(); ++s) {
        const Service& svc = m.services[s];
        const bool v6 = !svc.cluster_ips6.empty() || !svc.external_ips6.empty() || !svc.lb_ips6.empty();
        for (size_t p = 0; p < svc.ports.size(); ++p, ++next) {
            if (!v6) continue;
            if (!add_port(svc, svc.ports[p], bases.at(next), slots, err)) {
                err = "services[" + std::to_string(s) + "] (" + svc.key() + ").ports[" + std::to_string(p) + "]: " + err;
                return false;
            }
        }
        for (const Ip6& ip : svc.cluster_ips6) addr_kinds_[ip] = true;
        for (const Ip6& ip : svc.external_ips6) addr_kinds_.emplace(ip, false);
        for (const Ip6& ip : svc.lb_ips6) addr_kinds_.emplace(ip, false);
    }
    return true;
}

bool ServiceTable6::add_port(const Service& svc, const ServicePort& sp, const ServicePortEntry* base,
                             FrontendSlots& slots, std::string& err) {
    auto e = std::make_unique<ServicePort6>();
    e->base = base;
    for (const Endpoint6& ep : chosen_endpoints6(sp)) e->backends.push_back(Backend6{ep.ip, ep.port});
    for (const Endpoint6& ep : sp.endpoints6)
        if (keeps_flows(ep)) e->serving.push_back(Backend6{ep.ip, ep.port});
    std::sort(e->backends.begin(), e->backends.end());
    std::sort(e->serving.begin(), e->serving.end());
    e->source_ranges = svc.lb_source_ranges6;
    if (!e->backends.empty()) {
        if (e->backends.size() > lb::Maglev::kMaxBackends) {
            err = std::to_string(e->backends.size()) + " ready IPv6 endpoints; at most " +
                  std::to_string(lb::Maglev::kMaxBackends) + " per service port are supported";
            return false;
        }
        std::vector<lb::MaglevBackend> ids;
        for (const Backend6& b : e->backends) ids.push_back(maglev_id(b));
        e->maglev = lb::Maglev::build(ids);
        if (e->maglev.empty()) {
            err = "Maglev table could not be built for " + std::to_string(ids.size()) + " IPv6 endpoints";
            return false;
        }
    }
    const uint8_t proto = static_cast<uint8_t>(sp.proto);
    // A key two Services claim stays the first one's (as emplace keeps it), and only it is
    // counted. The slot's key: FrontendKey (frontend_traffic.hpp), bit 63 marking IPv6.
    auto add = [&](const Ip6& ip, uint16_t port, VipKind kind) {
        const auto [it, added] = frontends_.emplace(Key{ip, proto, port}, ServiceMatch6{e.get(), kind});
        if (!added) return;
        FrontendKey key{base->name_hash, kFrontendIpv6 | port};
        std::memcpy(&key.ip6_hi, ip.data(), 8);
        std::memcpy(&key.ip6_lo, ip.data() + 8, 8);
        it->second.slot = slots.take(key);
        listed_.push_back(FrontendEntry6{e.get(), kind, it->second.slot, ip, port, proto});
    };
    for (const Ip6& ip : svc.cluster_ips6) add(ip, sp.port, VipKind::cluster_ip);
    for (const Ip6& ip : svc.external_ips6) add(ip, sp.port, VipKind::external_ip);
    for (const Ip6& ip : svc.lb_ips6) add(ip, sp.port, VipKind::lb_ip);
    if (sp.node_port != 0)
        for (const Ip6& ip : node_addresses_) add(ip, sp.node_port, VipKind::node_port);
    ports_.push_back(std::move(e));
    return true;
}

bool ServiceTable6::build_routes(const Model& m, std::string& err) {
    port_addr_.assign(m.interfaces.size(), Ip6{});
    for (const Interface& ifc : m.interfaces) mtu_.push_back(ifc.ipv6_mtu);
    node_addresses_ = m.node_addresses6;
    for (size_t i = 0; i < m.interfaces.size(); ++i)
        for (const IfAddr6& a : m.interfaces[i].addresses6) {
            routes_.push_back(Route{a.subnet(), Ip6{}, static_cast<uint16_t>(i)});
            if (port_addr_[i].is_zero() && !net::ip6_is_link_local(a.addr)) port_addr_[i] = a.addr;
        }
    const size_t connected = routes_.size();
    for (size_t r = 0; r < m.routes6.size(); ++r) {
        const Route6& rt = m.routes6[r];
        const Ip6& probe = rt.via.is_zero() ? rt.to.addr : rt.via;
        size_t i = 0;
        while (i < connected && !routes_[i].to.contains(probe)) ++i;
        if (i == connected) {
            err = "routes: the route to " + cidr6_to_string(rt.to) + " via " + ip6_to_string(rt.via) +
                  ": its next hop is not inside any interface's IPv6 prefix; it must be a directly reachable gateway";
            return false;
        }
        routes_.push_back(Route{rt.to, rt.via, routes_[i].port});
    }
    std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) { return a.to.len > b.to.len; });
    return true;
}

}  // namespace nfgate::engine

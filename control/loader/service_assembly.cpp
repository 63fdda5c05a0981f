#include "control/loader/service_assembly.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "control/loader/service_reader.hpp"

namespace nfgate::loader {

namespace {

struct Claim {
    size_t service;
    size_t port;
    bool node_port = false;  // claimed as nodeAddress:nodePort rather than as a VIP
};

FrontendKey vip_key(uint32_t ip, uint16_t port, Proto proto) {
    FrontendKey k{{}, port, proto};
    k.addr.b[10] = k.addr.b[11] = 0xff;
    for (int i = 0; i < 4; ++i) k.addr.b[12 + i] = static_cast<uint8_t>(ip >> (24 - 8 * i));
    return k;
}

FrontendKey vip_key(const Ip6& ip, uint16_t port, Proto proto) { return FrontendKey{ip, port, proto}; }

// "192.0.2.1:80/TCP", "[2001:db8::1]:80/TCP"
std::string frontend_text(const FrontendKey& k) {
    const Ip6& a = k.addr;
    bool mapped = true;
    for (int i = 0; i < 12; ++i) mapped = mapped && a.b[i] == (i >= 10 ? 0xff : 0);
    std::string host = mapped ? ip_to_string(uint32_t{a.b[12]} << 24 | uint32_t{a.b[13]} << 16 | uint32_t{a.b[14]} << 8 | a.b[15])
                              : "[" + ip6_to_string(a) + "]";
    return host + ":" + std::to_string(k.port) + "/" + protocol_api_name(k.proto);
}

// Calls each(key) for every address:nodePort/protocol the Service's nodePorts claim.
template <typename Each>
void for_each_node_port_frontend(const ServicePort& port, const Model& gw, Each&& each) {
    if (port.node_port == 0) return;
    for (uint32_t node : gw.node_addresses) each(vip_key(node, port.node_port, port.proto));
    for (const Ip6& node : gw.node_addresses6) each(vip_key(node, port.node_port, port.proto));
}

// Calls each(key, kind, port index) for every VIP:port/protocol of the Service.
template <typename Each>
void for_each_vip_frontend(const Service& svc, Each&& each) {
    auto all = [&](const auto& ips, const char* kind) {
        for (const auto& ip : ips)
            for (size_t p = 0; p < svc.ports.size(); ++p) each(vip_key(ip, svc.ports[p].port, svc.ports[p].proto), kind, p);
    };
    all(svc.cluster_ips, "clusterIP");
    all(svc.cluster_ips6, "clusterIP");
    all(svc.external_ips, "externalIP");
    all(svc.external_ips6, "externalIP");
    all(svc.lb_ips, "load-balancer ingress IP");
    all(svc.lb_ips6, "load-balancer ingress IP");
}

uint32_t node_port_key(uint16_t node_port, Proto proto) {
    return uint32_t{node_port} << 8 | static_cast<uint8_t>(proto);
}

std::string where(const std::string& file, int line) { return file + ":" + std::to_string(line); }

std::string port_field(size_t i, const char* leaf) {
    return "spec.ports[" + std::to_string(i) + "]." + leaf;
}

// Drops (and reports) a second definition of a namespace/name, so it cannot also be reported
// as a VIP or nodePort clash with its own first definition.
void drop_duplicate_services(std::vector<ServiceSource>& services, Reporter& r,
                             std::unordered_map<std::string, size_t>& by_key) {
    by_key.reserve(services.size());
    std::vector<ServiceSource> kept;
    kept.reserve(services.size());
    for (auto& s : services) {
        auto [it, fresh] = by_key.emplace(s.svc.key(), kept.size());
        if (fresh) {
            kept.push_back(std::move(s));
            continue;
        }
        const auto& first = kept[it->second];
        r.set_file(s.file);
        r.set_object("Service " + s.svc.key());
        r.error(s.line, "metadata.name",
                "defined twice (first at " + where(first.file, first.line) + "; want one object per namespace/name)");
    }
    services = std::move(kept);
}

// slices_of[i]: the slices that belong to services[i], in the order given.
std::vector<std::vector<const SliceSource*>> link_slices(const ManifestObjects& objects, Reporter& r,
                                                         const std::unordered_map<std::string, size_t>& services) {
    std::vector<std::vector<const SliceSource*>> slices_of(objects.services.size());
    std::unordered_map<std::string, size_t> seen;
    seen.reserve(objects.slices.size());
    for (size_t i = 0; i < objects.slices.size(); ++i) {
        const auto& sl = objects.slices[i];
        r.set_file(sl.file);
        r.set_object("EndpointSlice " + sl.key());
        auto [it, fresh] = seen.emplace(sl.key(), i);
        if (!fresh) {
            const auto& first = objects.slices[it->second];
            r.error(sl.line, "metadata.name",
                    "defined twice (first at " + where(first.file, first.line) + "; want one object per namespace/name)");
            continue;
        }
        auto svc = services.find(sl.service_key());
        if (svc == services.end()) {
            r.notice(sl.line, "skipped: no Service " + sl.service_key() + " among the loaded Services");
            continue;
        }
        slices_of[svc->second].push_back(&sl);
    }
    return slices_of;
}

template <typename E>
void sort_unique(std::vector<E>& eps) {
    // Two slices may list one endpoint (the API allows it while the controller moves endpoints
    // between slices): it counts once, and the most usable of its copies is kept (ready before
    // serving before neither, not terminating before terminating).
    std::sort(eps.begin(), eps.end(), [](const E& a, const E& b) {
        if (a.ip != b.ip) return a.ip < b.ip;
        if (a.port != b.port) return a.port < b.port;
        if (a.ready != b.ready) return a.ready;
        if (a.serving != b.serving) return a.serving;
        return !a.terminating && b.terminating;
    });
    eps.erase(std::unique(eps.begin(), eps.end(),
                          [](const E& a, const E& b) { return a.ip == b.ip && a.port == b.port; }),
              eps.end());
}

// A VIP that is also a node address collides with the NodePorts served there, so those are
// claimed first (clashes among nodePorts themselves are check_node_port_claims' to report).
void check_vip_claims(const std::vector<ServiceSource>& services, const Model& gw, Reporter& r) {
    std::unordered_map<FrontendKey, Claim, FrontendKeyHash> claims;
    for (size_t s = 0; s < services.size(); ++s)
        for (size_t p = 0; p < services[s].svc.ports.size(); ++p)
            for_each_node_port_frontend(services[s].svc.ports[p], gw,
                                        [&](const FrontendKey& k) { claims.emplace(k, Claim{s, p, true}); });
    for (size_t s = 0; s < services.size(); ++s) {
        const Service& svc = services[s].svc;
        r.set_file(services[s].file);
        r.set_object("Service " + svc.key());
        for_each_vip_frontend(svc, [&](const FrontendKey& k, const char* kind, size_t p) {
            auto [it, fresh] = claims.emplace(k, Claim{s, p});
            if (fresh || it->second.service == s) return;
            const auto& other = services[it->second.service];
            const auto& other_port = other.ports[it->second.port];
            std::string how = it->second.node_port ? " as a nodePort on a node address (" : " (";
            int line = it->second.node_port ? other_port.node_port_line : other_port.line;
            r.error(services[s].ports[p].line, port_field(p, "port"),
                    frontend_text(k) + " (" + kind + ") is also claimed by Service " + other.svc.key() + how +
                        where(other.file, line) + "; want each VIP:port/protocol in one Service only)");
        });
    }
}

void check_node_port_claims(const std::vector<ServiceSource>& services, Reporter& r) {
    std::unordered_map<uint32_t, Claim> claims;
    for (size_t s = 0; s < services.size(); ++s) {
        const Service& svc = services[s].svc;
        r.set_file(services[s].file);
        r.set_object("Service " + svc.key());
        for (size_t p = 0; p < svc.ports.size(); ++p) {
            const ServicePort& port = svc.ports[p];
            if (port.node_port == 0) continue;
            uint32_t key = node_port_key(port.node_port, port.proto);
            auto [it, fresh] = claims.emplace(key, Claim{s, p});
            if (fresh) continue;
            const auto& other = services[it->second.service];
            std::string owner = it->second.service == s ? "spec.ports[" + std::to_string(it->second.port) + "]"
                                                        : "Service " + other.svc.key();
            r.error(services[s].ports[p].node_port_line, port_field(p, "nodePort"),
                    std::to_string(port.node_port) + "/" + protocol_api_name(port.proto) + " is also the nodePort of " +
                        owner + " (" + where(other.file, other.ports[it->second.port].node_port_line) +
                        "; want each nodePort/protocol used once)");
        }
    }
}

}  // namespace

void resolve_service(ServiceSource& src, const std::vector<const SliceSource*>& slices, Reporter& r) {
    if (slices.empty()) return;
    r.set_file(src.file);
    r.set_object("Service " + src.svc.key());
    // The slices' ports by (name, protocol), and what they offer for messages: built once, so
    // a Service with many ports costs the sum of its ports and its slices', not their product.
    std::unordered_map<std::string, std::vector<std::pair<const SliceSource*, uint16_t>>> offers;
    std::string offered;
    for (const SliceSource* sl_ptr : slices) {
        const SliceSource& sl = *sl_ptr;
        for (const SlicePort& sp : sl.ports) {
            offers[sp.name + "/" + protocol_api_name(sp.proto)].emplace_back(&sl, sp.port);
            offered += (offered.empty() ? "" : ", ") + (sp.name.empty() ? std::string("(unnamed)") : sp.name) + "/" +
                       protocol_api_name(sp.proto);
        }
    }
    // A Deployment scaled to zero keeps its EndpointSlice with `endpoints: null` and `ports: null`:
    // its Service has no endpoints and rejects traffic, as with kube-proxy. A named targetPort is
    // only worth an error when the slices list endpoints under other port names.
    const bool slices_have_endpoints = std::any_of(slices.begin(), slices.end(), [](const SliceSource* sl) {
        return (!sl->addresses.empty() || !sl->addresses6.empty()) && !sl->ports.empty();
    });
    for (size_t i = 0; i < src.svc.ports.size(); ++i) {
        ServicePort& port = src.svc.ports[i];
        const auto it = offers.find(port.name + "/" + protocol_api_name(port.proto));
        const bool resolved = it != offers.end();
        if (resolved)
            for (const auto& [sl, target] : it->second) {
                for (Endpoint ep : sl->addresses) {
                    ep.port = target;
                    port.endpoints.push_back(ep);
                }
                for (Endpoint6 ep : sl->addresses6) {
                    ep.port = target;
                    port.endpoints6.push_back(ep);
                }
            }
        sort_unique(port.endpoints);
        sort_unique(port.endpoints6);
        if (resolved) continue;
        const auto& ps = src.ports[i];
        std::string wanted = "an EndpointSlice port named \"" + port.name + "\" with protocol " +
                             protocol_api_name(port.proto);
        std::string has = offered.empty() ? "none" : offered;
        if (!slices_have_endpoints)
            r.notice(ps.line, port_field(i, "port") + ": no endpoints: the Service's EndpointSlices list none "
                              "(scaled to zero?): it rejects traffic");
        else if (!ps.target_name.empty())
            r.error(ps.target_line, port_field(i, "targetPort"),
                    "named targetPort \"" + ps.target_name + "\" is not resolved by any EndpointSlice of this "
                    "Service (want " + wanted + "; the slices have: " + has + ")");
        else
            r.notice(ps.line, port_field(i, "port") + ": no endpoints: the Service's EndpointSlices have no port "
                              "named \"" + port.name + "\"/" + protocol_api_name(port.proto) + " (they have: " + has + ")");
    }
}

size_t FrontendKeyHash::operator()(const FrontendKey& k) const {
    uint64_t h = 0, l = 0;
    std::memcpy(&h, k.addr.data(), 8);
    std::memcpy(&l, k.addr.data() + 8, 8);
    const uint64_t pp = uint64_t{k.port} << 8 | static_cast<uint8_t>(k.proto);
    return std::hash<uint64_t>{}(h * 0x9e3779b97f4a7c15ull ^ l ^ pp * 0xc2b2ae3d27d4eb4full);
}

void check_claims(const std::vector<ServiceSource>& services, const Model& gateway, Reporter& r) {
    check_vip_claims(services, gateway, r);
    check_node_port_claims(services, r);
}

Claims claims_of(const Service& svc, const Model& gateway) {
    Claims c;
    for (const ServicePort& port : svc.ports) {
        if (port.node_port == 0) continue;
        c.node_ports.push_back(node_port_key(port.node_port, port.proto));
        for_each_node_port_frontend(port, gateway, [&](const FrontendKey& k) { c.frontends.push_back(k); });
    }
    for_each_vip_frontend(svc, [&](const FrontendKey& k, const char*, size_t) { c.frontends.push_back(k); });
    auto sort_unique_keys = [](auto& v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
    };
    sort_unique_keys(c.frontends);
    sort_unique_keys(c.node_ports);
    return c;
}

void assemble_services(ManifestObjects& objects, std::vector<Diag>& errors, std::vector<Diag>& notices,
                       Model& m) {
    // Cross-object findings point into different files: the Reporter's file is set per object.
    const std::string no_file;
    Reporter r(no_file, errors, notices);
    std::unordered_map<std::string, size_t> by_key;
    drop_duplicate_services(objects.services, r, by_key);
    auto slices_of = link_slices(objects, r, by_key);
    for (size_t i = 0; i < objects.services.size(); ++i)
        resolve_service(objects.services[i], slices_of[i], r);
    check_claims(objects.services, m, r);

    m.services.clear();
    m.services.reserve(objects.services.size());
    for (auto& s : objects.services) m.services.push_back(std::move(s.svc));
    std::sort(m.services.begin(), m.services.end(), [](const Service& a, const Service& b) {
        return a.ns != b.ns ? a.ns < b.ns : a.name < b.name;
    });
}

}  // namespace nfgate::loader

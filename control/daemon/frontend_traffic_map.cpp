#include "control/daemon/frontend_traffic_map.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>

#include "control/api/api_answers.hpp"

namespace nfgate::daemon {

namespace {

// proto, family (IPv6), IPv4 address, IPv6 address, port: one frontend of either family
using Key = std::tuple<uint8_t, bool, uint32_t, Ip6, uint16_t>;

Key key_of(Proto proto, bool ipv6, uint32_t ip, const Ip6& ip6, uint16_t port) {
    return Key{static_cast<uint8_t>(proto), ipv6, ipv6 ? 0 : ip, ipv6 ? ip6 : Ip6{}, port};
}

void add(std::optional<uint64_t>& to, const std::optional<uint64_t>& v) {
    if (v) to = to.value_or(0) + *v;
}

void add(FrontendTraffic& to, const FrontendTraffic& t) {
    add(to.connections, t.connections);
    add(to.packets, t.packets);
    add(to.bytes, t.bytes);
}

}  // namespace

std::vector<FrontendTraffic> traffic_by_frontend(std::span<const Frontend> fronts, std::span<const FrontendTraffic> t) {
    std::map<Key, size_t> exact, any_node;  // -> index into fronts
    std::vector<FrontendTraffic> out(fronts.size());
    for (size_t i = 0; i < fronts.size(); ++i) {
        const Frontend& f = fronts[i];
        out[i].ip = f.ip, out[i].port = f.port, out[i].proto = f.proto;
        out[i].ipv6 = f.ipv6, out[i].ip6 = f.ip6;
        // Each family's figures go to that family's frontends only: an IPv6 frontend never
        // borrows its IPv4 twin's, nor an IPv6 NodePort the IPv4 node addresses'.
        exact.emplace(key_of(f.proto, f.ipv6, f.ip, f.ip6, f.port), i);
        if (f.kind == FrontendKind::node_port) any_node.emplace(key_of(f.proto, f.ipv6, 0, Ip6{}, f.port), i);
    }
    for (const FrontendTraffic& x : t) {
        const bool any = x.ipv6 ? x.ip6.is_zero() : x.ip == 0;
        const auto& index = any ? any_node : exact;
        const auto it = index.find(key_of(x.proto, x.ipv6, x.ip, x.ip6, x.port));
        if (it != index.end()) add(out[it->second], x);
    }
    return out;
}

std::vector<metrics::ServicePortTraffic> traffic_by_service_port(const Model& m, std::span<const Frontend> fronts,
                                                                 std::span<const FrontendTraffic> per_frontend) {
    std::vector<metrics::ServicePortTraffic> out;
    std::map<std::pair<uint32_t, uint32_t>, size_t> row;  // (service, port index) -> out index
    for (size_t i = 0; i < fronts.size() && i < per_frontend.size(); ++i) {
        const Frontend& f = fronts[i];
        auto [it, added] = row.emplace(std::pair{f.service, f.port_index}, out.size());
        if (added) {
            const Service& svc = m.services[f.service];
            const ServicePort& p = svc.ports[f.port_index];
            out.push_back({svc.key(), p.name.empty() ? std::to_string(p.port) : p.name, api::proto_upper(static_cast<uint8_t>(p.proto)), {}, {}, {}});
        }
        metrics::ServicePortTraffic& r = out[it->second];
        add(r.connections, per_frontend[i].connections);
        add(r.packets, per_frontend[i].packets);
        add(r.bytes, per_frontend[i].bytes);
    }
    return out;
}

}  // namespace nfgate::daemon

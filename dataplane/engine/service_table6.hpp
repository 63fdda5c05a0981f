// The IPv6 half of a ServiceTable snapshot: IPv6 frontends (ClusterIPs, externalIPs, LB IPs,
// IPv6 nodeAddress:nodePort) and their IPv6 backends with a Maglev table each, the IPv6 address
// sets and CIDRs a miss is decided by, the connected IPv6 prefixes and IPv6 routes. Each family
// is chosen from on its own, as kube-proxy runs one proxier per family; a service port's other
// settings (affinity, externalTrafficPolicy, name) are its IPv4 entry's (`base`), one for both.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/engine/frontend_traffic.hpp"
#include "dataplane/lb/maglev.hpp"
#include "model/ip6.hpp"
#include "model/model.hpp"

namespace nfgate::engine {

struct ServicePortEntry;
enum class VipKind : uint8_t;

struct Backend6 {
    Ip6 ip;
    uint16_t port = 0;
    bool operator==(const Backend6&) const = default;
    auto operator<=>(const Backend6&) const = default;
};

struct ServicePort6 {
    const ServicePortEntry* base = nullptr;  // the same service port's shared settings
    std::vector<Backend6> backends;  // chosen_endpoints6(), sorted
    std::vector<Backend6> serving;   // keeps_flows(), sorted
    lb::Maglev maglev;               // slot -> index into backends
    std::vector<Cidr6> source_ranges;

    const Backend6* find_backend(const Ip6& ip, uint16_t port) const { return find(backends, ip, port); }
    bool is_serving(const Ip6& ip, uint16_t port) const { return find(serving, ip, port) != nullptr; }
    static const Backend6* find(const std::vector<Backend6>& v, const Ip6& ip, uint16_t port) {
        const Backend6 want{ip, port};
        const auto it = std::lower_bound(v.begin(), v.end(), want);
        return it != v.end() && *it == want ? &*it : nullptr;
    }
};

struct ServiceMatch6 {
    const ServicePort6* port = nullptr;
    VipKind kind{};
    uint16_t slot = 0;  // the frontend's FrontendSlots slot (0: not counted), as ServiceMatch's
};

// One IPv6 address:port a service port is reached on, with the slot its traffic is counted in.
struct FrontendEntry6 {
    const ServicePort6* entry = nullptr;
    VipKind kind{};
    uint16_t slot = 0;
    Ip6 ip;
    uint16_t port = 0;  // the Service port, or the nodePort
    uint8_t proto = 0;
};

struct NextHop6 {
    uint16_t port = 0;
    Ip6 gateway;  // all zero: the destination is on the link
};

class ServiceTable6 {
public:
    // Fills the table from `m`'s IPv6 fields; `bases[i]` is the entry of the i-th service port
    // of the model (Services in order, their ports in order). Each frontend takes its counter
    // slot from `slots` (the IPv4 frontends' round). False with `err` set.
    bool build(const Model& m, const std::vector<const ServicePortEntry*>& bases, FrontendSlots& slots,
               std::string& err);

    ServiceMatch6 lookup(const Ip6& ip, uint8_t proto, uint16_t port) const {
        if (frontends_.empty()) return {};
        const auto it = frontends_.find(Key{ip, proto, port});
        return it == frontends_.end() ? ServiceMatch6{} : it->second;
    }
    bool is_service_address(const Ip6& ip) const { return addr_kinds_.count(ip) != 0; }
    bool is_cluster_ip(const Ip6& ip) const {
        const auto it = addr_kinds_.find(ip);
        return it != addr_kinds_.end() && it->second;
    }
    bool in_service_cidrs(const Ip6& ip) const { return any_contains(service_cidrs_, ip); }
    bool in_cluster(const Ip6& ip) const { return any_contains(cluster_cidrs_, ip); }
    bool egress_masquerade(const Ip6& src, const Ip6& dst, bool dst_local) const {
        return masquerade_egress_ && in_cluster(src) && !any_contains(non_masq_, dst) && !dst_local;
    }

    // Longest prefix first: the connected prefixes of the interfaces and the IPv6 routes.
    bool route(const Ip6& dst, NextHop6& nh) const {
        uint64_t hi, lo;
        std::memcpy(&hi, dst.data(), 8);
        std::memcpy(&lo, dst.data() + 8, 8);
        for (const Route& r : routes_)
            if ((hi & r.mask_hi) == r.net_hi && (lo & r.mask_lo) == r.net_lo) {
                nh.port = r.port;
                nh.gateway = r.via;
                return true;
            }
        return false;
    }
    // Every IPv6 frontend, in model order, with its slot (the per-frontend traffic is read by it).
    const std::vector<FrontendEntry6>& frontends() const { return listed_; }

    static const Ip6& neighbour_of(const Ip6& dst, const NextHop6& nh) { return nh.gateway.is_zero() ? dst : nh.gateway; }

    // The global address of `port` (its first IPv6 address that is not link-local): the source
    // of masqueraded flows leaving by it and of its neighbour solicitations. nullptr: none.
    // The IPv6 MTU of `port`'s link (interfaces[].ipv6MTU).
    uint32_t mtu(uint16_t port) const { return port < mtu_.size() ? mtu_[port] : 1280; }

    const Ip6* address_of(uint16_t port) const {
        return port < port_addr_.size() && !port_addr_[port].is_zero() ? &port_addr_[port] : nullptr;
    }

private:
    struct Key {
        Ip6 ip;
        uint8_t proto;
        uint16_t port;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        size_t operator()(const Key& k) const;
    };
    struct IpHash {
        size_t operator()(const Ip6& a) const;
    };
    // A prefix as two masked 64-bit halves, in the address's byte order: two ANDs a route.
    struct Route {
        Route(const Cidr6& c, const Ip6& v, uint16_t p);
        Cidr6 to;
        Ip6 via;
        uint16_t port;
        uint64_t mask_hi, mask_lo, net_hi, net_lo;
    };

    static bool any_contains(const std::vector<Cidr6>& v, const Ip6& ip) {
        for (const Cidr6& c : v)
            if (c.contains(ip)) return true;
        return false;
    }
    bool build_routes(const Model& m, std::string& err);
    bool add_port(const Service& svc, const ServicePort& sp, const ServicePortEntry* base, FrontendSlots& slots,
                  std::string& err);

    std::vector<std::unique_ptr<ServicePort6>> ports_;
    std::unordered_map<Key, ServiceMatch6, KeyHash> frontends_;
    std::vector<FrontendEntry6> listed_;  // the same frontends, in model order
    std::unordered_map<Ip6, bool, IpHash> addr_kinds_;  // service address -> is a ClusterIP
    std::vector<Cidr6> service_cidrs_, cluster_cidrs_, non_masq_;
    bool masquerade_egress_ = false;
    std::vector<Route> routes_;  // longest prefix first
    std::vector<Ip6> port_addr_;
    std::vector<uint32_t> mtu_;
    std::vector<Ip6> node_addresses_;
};

}  // namespace nfgate::engine

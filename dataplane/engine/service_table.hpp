// The ServiceTable: an immutable snapshot of everything the workers need from the Model —
// service addresses and their chosen backends with Maglev tables, interface addresses and MACs,
// routes, masquerade inputs. Built off the worker cores by build_service_table() (pure, no EAL),
// published by the port part with a pointer swap and freed after an RCU grace period.
#pragma once

#include <rte_ether.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "dataplane/engine/flat_map.hpp"
#include "dataplane/engine/frontend_traffic.hpp"
#include "dataplane/engine/routes.hpp"
#include "dataplane/engine/service_table6.hpp"
#include "dataplane/engine/source_limiter.hpp"
#include "dataplane/lb/maglev.hpp"

namespace nfgate::engine {

struct Backend {
    uint32_t ip = 0;  // host order
    uint16_t port = 0;
    bool operator==(const Backend&) const = default;
};

// The order of ServicePortEntry::backends.
inline bool backend_less(const Backend& a, const Backend& b) { return a.ip != b.ip ? a.ip < b.ip : a.port < b.port; }

enum class VipKind : uint8_t { cluster_ip, external_ip, lb_ip, node_port };

struct ServicePortEntry {
    uint32_t id = 0;  // stable across snapshots (hash of namespace/name/port/proto): affinity key
    uint64_t name_hash = 0;  // 64-bit hash of name: the frontend counter slots' key
    uint8_t proto = 0;
    std::vector<Backend> backends;   // new connections go here: chosen_endpoints(), sorted
    std::vector<Backend> serving;    // flows made to these live on: keeps_flows(), sorted
    lb::Maglev maglev;               // slot -> index into backends; empty without backends
    bool affinity_client_ip = false;
    uint32_t affinity_timeout_s = 0;
    bool etp_local = false;
    std::vector<Cidr> source_ranges;  // empty: any client
    std::string name;                 // "ns/name:port/proto", for stats and errors

    // The chosen backend (ip, port), or nullptr when it is not one of this port's.
    const Backend* find_backend(uint32_t ip, uint16_t port) const { return find(backends, ip, port); }
    bool is_serving(uint32_t ip, uint16_t port) const { return find(serving, ip, port) != nullptr; }

    static const Backend* find(const std::vector<Backend>& v, uint32_t ip, uint16_t port) {
        const auto it = std::lower_bound(v.begin(), v.end(), Backend{ip, port}, backend_less);
        return it != v.end() && it->ip == ip && it->port == port ? &*it : nullptr;
    }

    bool source_allowed(uint32_t client) const {
        if (source_ranges.empty()) return true;
        for (const Cidr& c : source_ranges)
            if (c.contains(client)) return true;
        return false;
    }
};

struct ServiceMatch {
    const ServicePortEntry* port = nullptr;
    VipKind kind = VipKind::cluster_ip;
    uint16_t slot = 0;  // the frontend's FrontendSlots slot (0: not counted)
};

// One address:port a service port is reached on, with the slot its traffic is counted in.
struct FrontendEntry {
    const ServicePortEntry* entry = nullptr;  // service_ports()[port_index]
    uint32_t port_index = 0;  // into ServiceTable::service_ports()
    VipKind kind = VipKind::cluster_ip;
    uint16_t slot = 0;
    uint32_t ip = 0;          // host order
    uint16_t port = 0;        // the Service port, or the nodePort
};

struct IfaceInfo {
    uint32_t ip = 0;  // host order
    uint8_t prefix_len = 0;
    rte_ether_addr mac{};
};

class ServiceTable {
public:
    // Service on (address, proto, port): ClusterIPs, externalIPs and LB IPs by the service port,
    // node addresses by nodePort. `port == nullptr` when nothing matches.
    ServiceMatch lookup(uint32_t ip, uint8_t proto, uint16_t port) const {
        const uint32_t v = services_.find(service_key(ip, proto, port));
        if (v == FlatMap::kAbsent) return {};
        const FrontendEntry& f = frontends_[v];
        return ServiceMatch{f.entry, f.kind, f.slot};
    }

    bool is_cluster_ip(uint32_t ip) const { return addr_kinds_.find(ip) == kAddrClusterIp; }
    bool is_service_address(uint32_t ip) const { return addr_kinds_.contains(ip); }
    bool is_local(uint32_t ip) const { return local_.contains(ip); }
    bool in_service_cidrs(uint32_t ip) const { return any_contains(service_cidrs_, ip); }
    bool in_cluster(uint32_t ip) const { return any_contains(cluster_cidrs_, ip); }
    bool masquerade_all() const { return masquerade_all_; }
    // conntrack.newFlowsPerSource, this worker's share (source_limiter.hpp).
    const SourceLimit& source_limit() const { return source_limit_; }

    // ip-masq-agent rule: pod source to a destination outside nonMasqueradeCIDRs.
    bool egress_masquerade(uint32_t src, uint32_t dst) const {
        return masquerade_egress_ && in_cluster(src) && !any_contains(non_masq_, dst) && !is_local(dst);
    }

    // Addresses answered by ARP on `port`: its own address, node addresses and service VIPs
    // inside its subnet.
    bool answers_arp(uint16_t port, uint32_t ip) const { return arp_.contains(uint64_t{port} << 32 | ip); }
    // Every address answered on `port` (host order), for gratuitous announcements.
    const std::vector<uint32_t>& arp_addresses(uint16_t port) const { return arp_by_port_[port]; }

    // IPv6: the gateway's own addresses (interfaces' and nodeAddresses; a handful: a scan beats
    // a hash), and the ones neighbour discovery answers for on `port`: those and the Services'
    // addresses inside one of its prefixes.
    bool is_local6(const Ip6& ip) const { return std::find(local6_.begin(), local6_.end(), ip) != local6_.end(); }
    bool answers_nd(uint16_t port, const Ip6& ip) const {
        const auto& own = nd_sorted_[port];
        return std::binary_search(own.begin(), own.end(), ip);
    }
    // Every IPv6 address answered on `port`, for unsolicited advertisements.
    const std::vector<Ip6>& nd_addresses(uint16_t port) const { return nd_by_port_[port]; }

    // Whether (backend_ip, backend_port) is a serving endpoint (ready, or terminating but still
    // serving: keeps_flows) of the service port reached at (ip, proto, port) — a VIP:port or
    // nodeAddress:nodePort — in this snapshot. Asked per service port, as kube-proxy clears
    // conntrack per (frontend, endpoint): a backend that left one Service may still serve others.
    bool serves(uint32_t ip, uint8_t proto, uint16_t port, uint32_t backend_ip, uint16_t backend_port) const {
        const ServiceMatch sm = lookup(ip, proto, port);
        return sm.port != nullptr && sm.port->is_serving(backend_ip, backend_port);
    }

    const RouteTable& routes() const { return routes_; }
    // The IPv6 frontends, backends, prefixes and routes (service_table6.hpp).
    const ServiceTable6& v6() const { return v6_; }
    // Distinct for every snapshot built in this process (caches keyed on a snapshot compare it).
    uint64_t generation() const { return generation_; }
    const std::vector<IfaceInfo>& ifaces() const { return ifaces_; }
    // Shared with the snapshots before and after this one while unchanged (immutable).
    const std::vector<std::shared_ptr<const ServicePortEntry>>& service_ports() const { return ports_; }
    const std::vector<FrontendEntry>& frontends() const { return frontends_; }

    static uint64_t service_key(uint32_t ip, uint8_t proto, uint16_t port) {
        return uint64_t{ip} << 32 | uint64_t{proto} << 16 | port;
    }

private:
    friend class ServiceTableBuilder;
    // What addr_kinds_ maps a service address to.
    enum AddrKind : uint32_t { kAddrClusterIp = 1, kAddrOtherVip = 2 };

    static bool any_contains(const std::vector<Cidr>& v, uint32_t ip) {
        for (const Cidr& c : v)
            if (c.contains(ip)) return true;
        return false;
    }

    std::vector<std::shared_ptr<const ServicePortEntry>> ports_;
    std::vector<FrontendEntry> frontends_;
    FlatMap services_;        // service_key -> index into frontends_
    FlatMap addr_kinds_;      // every service address -> its AddrKind
    FlatMap local_;           // interface and node addresses
    FlatMap arp_;             // port << 32 | ip
    std::vector<std::vector<uint32_t>> arp_by_port_;
    std::vector<Cidr> service_cidrs_, cluster_cidrs_, non_masq_;
    bool masquerade_egress_ = false;
    bool masquerade_all_ = false;
    SourceLimit source_limit_;
    RouteTable routes_;
    std::vector<IfaceInfo> ifaces_;
    std::vector<Ip6> local6_;                    // interface and node IPv6 addresses
    std::vector<std::vector<Ip6>> nd_by_port_;  // answered by neighbour discovery, per port
    std::vector<std::vector<Ip6>> nd_sorted_;   // the same, sorted: a VIP subnet may hold thousands
    ServiceTable6 v6_;
    uint64_t generation_ = 0;
};

// Builds the snapshot for `m`. `iface_macs[i]` is the MAC of m.interfaces[i] (the port part
// knows them once the ports are up; tests pass made-up ones). `slots` keeps each frontend's
// counter slot across snapshots (the caller ends the round with slots->finish()); without it
// the frontends are numbered afresh. Returns nullptr with `err` set (naming the object and field)
// when the model cannot be served. `previous` (the snapshot in force, if any) lends its service
// port entries that did not change (their Maglev tables above all): at 10k Services x 10
// endpoints rebuilding every one is most of a snapshot's cost.
std::unique_ptr<ServiceTable> build_service_table(const Model& m, std::span<const rte_ether_addr> iface_macs,
                                                  std::string& err, FrontendSlots* slots = nullptr,
                                                  const ServiceTable* previous = nullptr);

}  // namespace nfgate::engine

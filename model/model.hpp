// The model: what the gateway should do, as plain data. No I/O, no DPDK, no netlink.
// Built by control/ from the gateway file and Kubernetes manifests, consumed by nft/
// (kernel path) and dataplane/ (fast path). Every IPv4 address is a host-order uint32_t; IPv6
// addresses (model/ip6.hpp) sit beside them in fields named ...6, one family per field, as
// kube-proxy keeps one proxier per family: a dual-stack Service has a ClusterIP of each family,
// each served by the endpoints of its own family.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/bgp.hpp"
#include "model/ip6.hpp"

namespace nfgate {

enum class Proto : uint8_t { tcp = 6, udp = 17, sctp = 132 };
enum class DataplaneKind : uint8_t { kernel, dpdk };

const char* proto_name(Proto p);  // "tcp", "udp", "sctp"

struct Cidr {
    uint32_t addr = 0;  // network address, host order, host bits cleared
    uint8_t len = 0;    // prefix length 0..32

    bool contains(uint32_t ip) const {
        uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
        return (ip & mask) == addr;
    }
    uint32_t mask() const { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
    bool operator==(const Cidr&) const = default;
    auto operator<=>(const Cidr&) const = default;
};

// An address on an interface: the host address plus its prefix (192.0.2.1/24).
struct IfAddr {
    uint32_t addr = 0;
    uint8_t len = 0;
    Cidr subnet() const {
        Cidr c{0, len};
        c.addr = addr & c.mask();
        return c;
    }
    bool operator==(const IfAddr&) const = default;
};

// Where an endpoint's EndpointSlice hints send it (hints.forZones), seen from the gateway's zone.
enum class ZoneHint : uint8_t {
    none,   // no hint, or the gateway has no zone
    here,   // hinted for the gateway's zone (among others, maybe)
    other,  // hinted for other zones only
};

// One endpoint as its EndpointSlice describes it. Which endpoints new connections go to is
// decided from these conditions by chosen_endpoints() (model/endpoint_choice.hpp), the one
// place both data paths ask.
template <typename Addr>
struct BasicEndpoint {
    Addr ip{};
    uint16_t port = 0;           // resolved targetPort
    bool ready = true;           // conditions.ready (absent: true)
    bool serving = false;        // conditions.serving as the loader read it (absent: ready's value);
                                 // only read for terminating endpoints, ready ones serve anyway
    bool terminating = false;    // conditions.terminating (absent: false)
    ZoneHint zone_hint = ZoneHint::none;
    bool operator==(const BasicEndpoint&) const = default;
    auto operator<=>(const BasicEndpoint&) const = default;
};
using Endpoint = BasicEndpoint<uint32_t>;  // from an EndpointSlice of addressType IPv4
using Endpoint6 = BasicEndpoint<Ip6>;      // ... of addressType IPv6

struct ServicePort {
    std::string name;        // may be empty for a single-port Service
    Proto proto = Proto::tcp;
    uint16_t port = 0;       // the Service port (on ClusterIP, externalIPs, LB IPs)
    uint16_t node_port = 0;  // 0: none
    std::vector<Endpoint> endpoints;  // sorted, unique; every endpoint the IPv4 slices list
    std::vector<Endpoint6> endpoints6;  // the same from the IPv6 slices
    bool operator==(const ServicePort&) const = default;

    // Endpoints whose conditions.ready is true (figures for people: what the data paths serve
    // is chosen_endpoints()).
    size_t ready_count() const {
        size_t n = 0;
        for (const auto& e : endpoints) n += e.ready ? 1 : 0;
        return n;
    }
};

enum class TrafficPolicy : uint8_t { cluster, local };

// SYN-flood defence for Service frontends (conntrack.synProxy): answer SYNs with SYN cookies
// and open the backend connection only for clients that return one. `automatic` switches it on
// while the flow table holds conntrack.synProxyHalfOpen half-open TCP flows or drops unanswered
// flows to make room, and off again when the flood is over.
enum class SynProxyMode : uint8_t { off, on, automatic };

struct Service {
    std::string ns;
    std::string name;
    std::vector<uint32_t> cluster_ips;   // usually one
    std::vector<uint32_t> external_ips;  // spec.externalIPs
    std::vector<uint32_t> lb_ips;        // status.loadBalancer.ingress[].ip
    std::vector<ServicePort> ports;
    bool affinity_client_ip = false;
    uint32_t affinity_timeout_s = 10800;  // Kubernetes default
    TrafficPolicy external_traffic_policy = TrafficPolicy::cluster;
    std::vector<Cidr> lb_source_ranges;   // empty: any source (of either family, when both are empty)
    std::vector<Ip6> cluster_ips6;        // the IPv6 entries of spec.clusterIPs
    std::vector<Ip6> external_ips6;
    std::vector<Ip6> lb_ips6;
    std::vector<Cidr6> lb_source_ranges6;
    bool operator==(const Service&) const = default;

    std::string key() const { return ns + "/" + name; }
};

struct Interface {
    std::string name;    // logical name ("ext", "pods")
    std::string device;  // dpdk devargs ("net_tap0,iface=nfg-ext")
    IfAddr address;             // addr 0: no IPv4 address
    std::vector<IfAddr6> addresses6;
    // The link's IPv6 MTU (Linux's net.ipv6.conf.IF.mtu): an IPv6 packet longer than this is not
    // sent on it but answered with Packet Too Big, IPv6 routers never fragment (RFC 8200 5).
    uint16_t ipv6_mtu = 1500;
    bool operator==(const Interface&) const = default;
};

struct Route {
    Cidr to;
    uint32_t via = 0;  // next hop; 0 = directly connected
    bool operator==(const Route&) const = default;
};

struct Route6 {
    Cidr6 to;
    Ip6 via;  // all zero: directly connected
    bool operator==(const Route6&) const = default;
};

struct Masquerade {
    bool egress = true;
    std::vector<Cidr> non_masquerade_cidrs;
    std::vector<Cidr6> non_masquerade_cidrs6;
    bool all = false;
    bool operator==(const Masquerade&) const = default;
};

// How the daemon is operated: its control API socket and its Prometheus endpoint.
struct ControlSettings {
    std::string socket = "/run/nfgate/nfgate.sock";  // UNIX socket of the control API
    std::string metrics_address;                      // "host:port" of /metrics; empty: off
    bool operator==(const ControlSettings&) const = default;
};

// Following a live cluster (the gateway file's `kubernetes` section): where the API server's
// address and credentials come from, and how often changes may be applied.
struct KubernetesSettings {
    std::string kubeconfig;    // path of a kubeconfig file; empty: none
    bool in_cluster = false;   // the service account's token and CA, KUBERNETES_SERVICE_HOST/PORT
    uint32_t min_sync_ms = 1000;  // at most one apply per this period (kube-proxy's min-sync-period)
    bool enabled() const { return in_cluster || !kubeconfig.empty(); }
    bool operator==(const KubernetesSettings&) const = default;
};

struct Model {
    DataplaneKind dataplane = DataplaneKind::kernel;
    std::vector<std::string> eal_args;  // dpdk only
    unsigned workers = 1;               // dpdk only
    std::vector<uint32_t> node_addresses;
    std::vector<Cidr> cluster_cidrs;
    std::vector<Cidr> service_cidrs;
    std::vector<Ip6> node_addresses6;
    std::vector<Cidr6> cluster_cidrs6;
    std::vector<Cidr6> service_cidrs6;
    Masquerade masquerade;
    std::vector<Interface> interfaces;  // dpdk only
    std::vector<Route> routes;          // dpdk only
    std::vector<Route6> routes6;        // dpdk only
    bool exception_path = false;        // dpdk only: kernel TAPs for the gateway's own traffic
                                        // (the gateway file's default is on)
    uint32_t max_flows = 1u << 20;
    SynProxyMode syn_proxy = SynProxyMode::automatic;
    uint32_t syn_proxy_half_open = 0;  // 0: maxFlows / 16
    // Second line against floods from few sources (conntrack.newFlowsPerSource): new flows to
    // Service frontends one source address may open per second, with a burst allowance. 0: off.
    uint32_t new_flows_per_source = 0;
    uint32_t new_flows_per_source_burst = 0;  // 0: the rate
    uint16_t node_port_min = 30000;
    uint16_t node_port_max = 32767;
    std::string zone;               // the gateway's topology zone (endpoint zone hints); empty: none
    std::vector<Service> services;  // sorted by (ns, name)
    ControlSettings control;
    BgpSettings bgp;
    KubernetesSettings kubernetes;
    bool operator==(const Model&) const = default;

    uint32_t per_source_burst() const {
        return new_flows_per_source_burst != 0 ? new_flows_per_source_burst : new_flows_per_source;
    }

    // The half-open TCP flows that switch an automatic SYN proxy on.
    uint32_t syn_proxy_threshold() const {
        return syn_proxy_half_open != 0 ? syn_proxy_half_open : (max_flows / 16 > 0 ? max_flows / 16 : 1);
    }

    bool in_cluster(uint32_t ip) const {
        for (const auto& c : cluster_cidrs)
            if (c.contains(ip)) return true;
        return false;
    }
    // Whether the gateway was given an IPv6 address to serve from (nodeAddresses, or an
    // interface's). Without one the IPv6 half of every Service is left out (with a notice), as
    // kube-proxy runs single-stack on a node with addresses of one family.
    bool has_ipv6() const {
        if (!node_addresses6.empty()) return true;
        for (const auto& ifc : interfaces)
            if (!ifc.addresses6.empty()) return true;
        return false;
    }

    bool in_cluster(const Ip6& ip) const {
        for (const auto& c : cluster_cidrs6)
            if (c.contains(ip)) return true;
        return false;
    }
};

// Text helpers shared by every part (errors, logs, rendering).
std::string ip_to_string(uint32_t ip);
std::string endpoint_str(uint32_t ip, uint16_t port);  // "10.244.1.2:8080"
std::string cidr_to_string(const Cidr& c);
bool parse_ipv4(std::string_view s, uint32_t& out);
bool parse_cidr(std::string_view s, Cidr& out);     // host bits must be clear
bool parse_ifaddr(std::string_view s, IfAddr& out);  // "192.0.2.1/24"

}  // namespace nfgate

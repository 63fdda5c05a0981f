// Every address:port a Service port is reachable on (ClusterIPs, externalIPs, LoadBalancer
// ingress IPs, NodePorts on each node address), listed one way for everyone who has to name
// them: the control API, the kernel-path flow listing, trace.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/ip6.hpp"
#include "model/model.hpp"

namespace nfgate {

enum class FrontendKind : uint8_t { cluster_ip, external_ip, load_balancer_ip, node_port };

const char* frontend_kind_name(FrontendKind k);  // "ClusterIP", "ExternalIP", "LoadBalancerIP", "NodePort"

struct Frontend {
    FrontendKind kind = FrontendKind::cluster_ip;
    uint32_t ip = 0;      // host order; 0 for an IPv6 frontend
    uint16_t port = 0;    // the Service port, or the nodePort
    Proto proto = Proto::tcp;
    uint32_t service = 0;  // index into Model::services
    uint32_t port_index = 0;  // index into Service::ports
    bool ipv6 = false;        // the address is ip6 (an IPv6 ClusterIP, externalIP, LB IP or node address)
    Ip6 ip6{};
};

// In model order: Service by Service, port by port, ClusterIPs, externalIPs, LB IPs, NodePorts.
// IPv4 only: what the IPv4 rules are keyed by.
std::vector<Frontend> frontends(const Model& m);

// Both families, for listings that name a Service port's every address: per port its IPv4
// frontends as frontends() lists them, then its IPv6 ones in the same order (IPv6 ClusterIPs,
// externalIPs, LB IPs, NodePorts on the IPv6 node addresses).
std::vector<Frontend> all_frontends(const Model& m);

// What a data path counted for one frontend since it appeared: new connections, and packets and
// bytes of its connections in both directions. A figure the data path does not count is empty.
// An IPv6 frontend's figures carry `ipv6` and its address in `ip6` (`ip` stays 0); an all-zero
// `ip6` is every IPv6 node address, as `ip` 0 is every IPv4 one.
struct FrontendTraffic {
    uint32_t ip = 0;  // host order; 0: every node address (a NodePort counted per port)
    uint16_t port = 0;
    Proto proto = Proto::tcp;
    std::optional<uint64_t> connections, packets, bytes;
    bool ipv6 = false;
    Ip6 ip6{};
};

}  // namespace nfgate

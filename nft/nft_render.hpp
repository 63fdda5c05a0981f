// Model -> Ruleset, a pure function: no I/O, same input, same output.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "model/model.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

// `syn_proxy`: whether the SYN proxy is on (its set holds the TCP frontends, nft_flood_render.hpp);
// without it, on exactly when conntrack.synProxy is `on` (`auto` starts off: the daemon decides).
// `family`: the `ip` table from the model's IPv4 half, or the `ip6` table from its IPv6 half
// (the same objects and rules, each address of the family).
Ruleset render(const Model& m, bool syn_proxy, Family family = Family::ip);
Ruleset render(const Model& m);

// The size the endpoint map is declared with for this model (a power of two, at least
// kMinEndpointMapSize, at least twice the elements).
inline constexpr uint32_t kMinEndpointMapSize = 65536;
// Each family's table has its own map, sized for its half of the model.
uint32_t endpoint_map_capacity(const Model& m, Family f = Family::ip);
// The same in parts, so a change to a few Services is summed without the rest: the elements
// one Service puts in the map, and the size for a total.
uint64_t endpoint_map_need(const Model& m, const Service& s, Family f = Family::ip);
uint32_t endpoint_map_capacity_for(uint64_t need);

// A shared endpoint chain: (chosen endpoint count, masquerade mark or not).
using PickChain = std::pair<uint32_t, bool>;

// The shared chains a service port's traffic goes to: its external frontends' and, when that
// differs, its ClusterIPs' (externalTrafficPolicy Local keeps the client address on external
// frontends only; off-cluster clients of a ClusterIP are masqueraded as with Cluster, as
// kube-proxy does). None for ClientIP affinity (own chain) or without chosen endpoints (reject).
// Chosen: chosen_endpoints() (model/endpoint_choice.hpp).
std::vector<PickChain> pick_chains_of(const Model& m, const Service& s, const ServicePort& p, Family f = Family::ip);

// The endpoint addresses whose own traffic to a Service may come back to them (hairpin): chosen
// endpoints inside the cluster CIDRs of `s`, unless every Service packet is masqueraded anyway.
// Each address once per chosen endpoint entry, so callers can count users.
std::vector<Addr> hairpin_addresses(const Model& m, const Service& s, Family f = Family::ip);

// What a partial rendering includes of the objects Services share: the shared endpoint chains
// and the hairpin set's elements.
struct SharedParts {
    std::set<PickChain> picks;
    std::set<Addr> hairpin;
};

// The part of render(m) that `services` own: their map elements, affinity maps, firewall and
// affinity chains, plus the shared objects listed in `shared` (and no base chains). The
// difference between two such renderings of the same services is what changing them takes;
// services outside the list keep their own part (the global sets appear, with only these
// services' elements). A key claimed by two Services is kept once within `services` only.
// `endpoint_map_size` is endpoint_map_capacity(m), which the caller has at hand.
Ruleset render_services(const Model& m, const std::vector<const Service*>& services, const SharedParts& shared,
                        uint32_t endpoint_map_size, bool syn_proxy, Family f = Family::ip);

// Names of the per-service-port objects, readable and stable: a short hash of the identity keeps
// them unique after the readable part is cut to the kernel's 255-character limit.
std::string service_chain_name(const Service& s, const ServicePort& p);
std::string firewall_chain_name(const Service& s, const ServicePort& p);
// The shared chain that picks one of `endpoints` endpoints through the endpoint map, marking the
// packet for masquerade first when `masquerade`.
std::string endpoint_dnat_chain_name(uint32_t endpoints, bool masquerade);
// Per service port: its affinity chain (ClientIP affinity only) and firewall chain (source ranges).
// The affinity map's name hashes the port's identity and the timeout, not the endpoints: an
// endpoint change keeps the map and the pins to endpoints that stay (affinity_sweep.hpp takes
// away the others); a new timeout replaces the map.
std::string affinity_map_name(const Service& s, const ServicePort& p, uint32_t timeout_s);

// The fixed objects every ruleset has.
inline constexpr const char* kServicesChain = "services";
inline constexpr const char* kRejectChain = "reject-chain";
inline constexpr const char* kPodEgressChain = "pod-egress";
inline constexpr const char* kServiceIpsMap = "service-ips";
inline constexpr const char* kServiceNodePortsMap = "service-nodeports";
inline constexpr const char* kServiceEndpointsMap = "service-endpoints";
inline constexpr const char* kNoEndpointServicesMap = "no-endpoint-services";
inline constexpr const char* kNoEndpointNodePortsMap = "no-endpoint-nodeports";
inline constexpr const char* kClusterIpsSet = "cluster-ips";
inline constexpr const char* kNodeAddressesSet = "node-addresses";
// ip saddr . ip daddr of a pod calling a Service that picked the pod itself: masqueraded, or the
// pod would drop its own address arriving from outside.
inline constexpr const char* kHairpinSet = "hairpin-endpoints";
// Every frontend (VIP . proto . port, node address . proto . nodePort) with endpoints, with a
// counter per element: the packets and bytes of its connections, counted in the filter hooks by
// the connection's original destination. service-ips and service-nodeports count per element too:
// the nat hooks see a connection's first packet only, so those are new connections.
inline constexpr const char* kServiceTrafficSet = "service-traffic";

}  // namespace nfgate::nft

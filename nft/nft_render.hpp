// Model -> Ruleset, a pure function: no I/O, same input, same output.
#pragma once

#include <string>

#include "control/model.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

Ruleset render(const Model& m);

// Names of the per-service-port objects, readable and stable: a short hash of the identity keeps
// them unique after the readable part is cut to the kernel's 255-character limit.
std::string service_chain_name(const Service& s, const ServicePort& p);
std::string firewall_chain_name(const Service& s, const ServicePort& p);
// The shared chain that picks one of `endpoints` endpoints through the endpoint map, marking the
// packet for masquerade first when `masquerade`.
std::string endpoint_dnat_chain_name(uint32_t endpoints, bool masquerade);
// Per service port: its affinity chain (ClientIP affinity only) and firewall chain (source ranges).
// The affinity map's name also hashes the ready endpoints and the timeout: when they change the
// map is replaced, so no client stays pinned to an endpoint that is gone.
std::string affinity_map_name(const Service& s, const ServicePort& p, const std::vector<Endpoint>& ready,
                              uint32_t timeout_s);

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

}  // namespace nfgate::nft

// Service VIPs as local routes (the kube-proxy IPVS mode keeps them on a dummy device): the
// gateway answers ARP for them, and VIP traffic that no DNAT rule took lands in INPUT, where the
// filter chains reject or drop it. Every route nfgate adds carries its own rtm_protocol value, so
// updates and cleanup only ever touch nfgate's routes.
#pragma once

#include <string>
#include <vector>

#include "model/model.hpp"

namespace nfgate::nft {

// rtm_protocol of nfgate's routes (unassigned in iproute2's rt_protos; `ip route show proto 158`).
inline constexpr unsigned char kRouteProtocol = 158;

// serviceCIDRs, plus every externalIP and LoadBalancer IP outside them as a /32. Sorted, unique. Pure.
std::vector<Cidr> local_route_prefixes(const Model& m);

// The same for the IPv6 half: serviceCIDRs of IPv6, IPv6 externalIPs and LB IPs outside them as /128.
std::vector<Cidr6> local_route_prefixes6(const Model& m);

// Adds `add` and removes `remove` as local routes on lo in the local table.
bool update_local_routes(const std::vector<Cidr>& add, const std::vector<Cidr>& remove, std::string& err);
bool update_local_routes(const std::vector<Cidr6>& add, const std::vector<Cidr6>& remove, std::string& err);

// Every route tagged with kRouteProtocol in the local table (whatever this or an earlier run
// left), sorted.
bool list_local_routes(std::vector<Cidr>& out, std::string& err);
bool list_local_routes(std::vector<Cidr6>& out, std::string& err);

// Removes every route tagged with kRouteProtocol from the local tables of both families
// (whatever a previous run left).
bool remove_all_local_routes(std::string& err);

}  // namespace nfgate::nft

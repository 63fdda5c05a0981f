// In-subnet IPv6 VIPs on the kernel path: Linux answers a neighbour solicitation only for an
// address on the interface it arrives on, so a VIP routed locally on lo (local_routes.hpp) is
// not answered on the link it belongs to, as an IPv4 one is by ARP. Each IPv6 externalIP or
// LB IP inside a prefix of an interface gets a proxy neighbour entry on that interface (`ip -6
// neigh add proxy ADDR dev IF`, with proxy_ndp on), tagged with kRouteProtocol so updates and
// cleanup touch only nfgate's.
#pragma once

#include <string>
#include <vector>

#include "model/model.hpp"

namespace nfgate::nft {

struct NdpProxy {
    int ifindex = 0;
    Ip6 addr;
    auto operator<=>(const NdpProxy&) const = default;
};

// The proxies `vips` (single addresses) need: one per interface with a global IPv6 prefix that
// holds the address. Sorted. Reads the interfaces' addresses.
bool ndp_proxies_for(const std::vector<Ip6>& vips, std::vector<NdpProxy>& out, std::string& err);

// Adds `add` (switching proxy_ndp on for their interfaces) and removes `remove`.
bool update_ndp_proxies(const std::vector<NdpProxy>& add, const std::vector<NdpProxy>& remove, std::string& err);

// nfgate's proxy entries in the kernel (whatever this or an earlier run left), sorted.
bool list_ndp_proxies(std::vector<NdpProxy>& out, std::string& err);

}  // namespace nfgate::nft

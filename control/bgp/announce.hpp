// What nfgate announces over BGP for a model: every VIP `bgp.announce` selects, as a /32 (/128), while
// its Service has at least one ready endpoint; the serviceCIDRs as they are (aggregates) when
// selected. Pure: the daemon compares the list between reloads.
#pragma once

#include <vector>

#include "model/model.hpp"

namespace nfgate::bgp {

// Sorted, without duplicates.
std::vector<Cidr> announced_prefixes(const Model& m);
// The same of the Services' IPv6 addresses (/128) and IPv6 serviceCIDRs, announced to IPv6 peers.
std::vector<Cidr6> announced_prefixes6(const Model& m);

}  // namespace nfgate::bgp

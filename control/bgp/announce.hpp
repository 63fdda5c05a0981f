// What nfgate announces over BGP for a model: every VIP `bgp.announce` selects, as a /32, while
// its Service has at least one ready endpoint; the serviceCIDRs as they are (aggregates) when
// selected. Pure: the daemon compares the list between reloads.
#pragma once

#include <vector>

#include "model/model.hpp"

namespace nfgate::bgp {

// Sorted, without duplicates.
std::vector<Cidr> announced_prefixes(const Model& m);

}  // namespace nfgate::bgp

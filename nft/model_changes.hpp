// What changed between the model the kernel holds and the next one, found without rendering
// either: the gateway-wide settings the ruleset depends on, and which Services differ.
#pragma once

#include <vector>

#include "model/model.hpp"

namespace nfgate::nft {

// Equal when every setting the ruleset depends on, other than the Services, is equal.
bool same_ruleset_globals(const Model& a, const Model& b);

struct ServiceChanges {
    std::vector<const Service*> before;  // in `a`: changed or removed
    std::vector<const Service*> after;   // in `b`: changed or added
    bool empty() const { return before.empty() && after.empty(); }
};

// Both models' services sorted by (ns, name), as the Model promises; false when they are not.
bool changed_services(const Model& a, const Model& b, ServiceChanges& out);

// Turns `held` into the model the kernel holds once `changes` (found between `held` and `next`)
// are applied: changed Services are copied over, unchanged ones stay where they are.
void adopt_services(Model& held, const Model& next, const ServiceChanges& changes);

}  // namespace nfgate::nft

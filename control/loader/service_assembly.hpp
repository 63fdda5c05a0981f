// Joins Services with their EndpointSlices and runs the checks that span objects.
#pragma once

#include "control/loader/manifest_objects.hpp"

namespace nfgate::loader {

// Resolves every ServicePort's endpoints (slice port of the same name and protocol), then
// reports duplicate Services/EndpointSlices, VIP:port/protocol claimed twice, nodePort/protocol
// used twice and named targetPorts no slice resolves. Fills m.services sorted by (ns, name).
void assemble_services(ManifestObjects& objects, std::vector<Diag>& errors, std::vector<Diag>& notices,
                       Model& m);

}  // namespace nfgate::loader

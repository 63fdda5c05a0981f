// One discovery.k8s.io/v1 (or v1beta1) EndpointSlice object -> SliceSource.
#pragma once

#include "control/loader/manifest_objects.hpp"

namespace nfgate::loader {

// FQDN slices, IPv6 slices when the gateway has no IPv6 address, and slices without the
// kubernetes.io/service-name label are skipped with a notice. Only the first address of an
// endpoint is used, as kube-proxy does; it must be of the slice's addressType. Conditions are
// kept as read (ready absent: true; serving absent: ready's value; terminating absent: false);
// hints.forZones become each endpoint's ZoneHint against the gateway's zone.
void read_endpoint_slice(Reporter& r, YNode obj, const Model& gateway, std::vector<SliceSource>& out);

}  // namespace nfgate::loader

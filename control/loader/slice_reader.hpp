// One discovery.k8s.io/v1 EndpointSlice object -> SliceSource.
#pragma once

#include "control/loader/manifest_objects.hpp"

namespace nfgate::loader {

// IPv6 and FQDN slices, and slices without the kubernetes.io/service-name label, are skipped
// with a notice. Only the first address of an endpoint is used, as kube-proxy does.
void read_endpoint_slice(Reporter& r, YNode obj, std::vector<SliceSource>& out);

}  // namespace nfgate::loader

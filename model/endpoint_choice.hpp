// Which endpoints of a Service port take new connections, and which keep the ones they have:
// kube-proxy's CategorizeEndpoints (pkg/proxy/topology.go) for a gateway that is no node.
// Both data paths and the control API ask here, so they cannot disagree.
#pragma once

#include <cstddef>
#include <vector>

#include "model/model.hpp"

namespace nfgate {

// The endpoints new connections go to, in the port's order:
//  1. ready endpoints; when every ready endpoint has a zone hint and one of them is hinted for
//     the gateway's zone, only those (topology-aware routing: trafficDistribution PreferClose,
//     hints.forZones);
//  2. with no ready endpoint at all: the serving and terminating ones (KEP-1669), so a rolling
//     update of a one-replica Deployment is served by the old pod until the new one is ready;
//  3. never an endpoint that is not serving.
// kube-proxy applies this to its Cluster set and, without topology, to its node-local set for
// externalTrafficPolicy Local. The gateway is no node: no endpoint is local to it, so its Local
// frontends use the same set as its Cluster ones (the policy keeps the client address).
std::vector<Endpoint> chosen_endpoints(const ServicePort& p);
void chosen_endpoints(const ServicePort& p, std::vector<Endpoint>& out);  // the same, into `out`
size_t chosen_count(const ServicePort& p);
// The same among the port's IPv6 endpoints (each family is chosen from on its own).
std::vector<Endpoint6> chosen_endpoints6(const ServicePort& p);
void chosen_endpoints6(const ServicePort& p, std::vector<Endpoint6>& out);
size_t chosen_count6(const ServicePort& p);

// Whether connections already made to `e` keep it: a serving endpoint (ready, or terminating
// but still serving) finishes what it has, as kube-proxy keeps conntrack entries of serving
// endpoints; UDP flows of an endpoint that stops serving (or leaves) are cleared.
template <typename Addr>
inline bool keeps_flows(const BasicEndpoint<Addr>& e) { return e.ready || e.serving; }

}  // namespace nfgate

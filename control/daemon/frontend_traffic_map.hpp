// The data path's per-frontend traffic laid over the model's frontends, for the `services`
// answer (per frontend) and the metrics (summed per Service port).
#pragma once

#include <span>
#include <vector>

#include "control/metrics/metrics_text.hpp"
#include "model/frontends.hpp"
#include "model/model.hpp"

namespace nfgate::daemon {

// One element per element of `fronts`, in its order: the traffic counted for that frontend
// (figures empty where the data path counted none), IPv4 and IPv6 frontends alike. An entry with
// ip 0 (a NodePort counted per port across node addresses; for IPv6 an all-zero ip6) goes to the
// first node address's frontend of that port in its family.
std::vector<FrontendTraffic> traffic_by_frontend(std::span<const Frontend> fronts, std::span<const FrontendTraffic> t);

// Per Service port (namespace/name, port name or number, protocol): the sum over its frontends.
std::vector<metrics::ServicePortTraffic> traffic_by_service_port(const Model& m, std::span<const Frontend> fronts,
                                                                 std::span<const FrontendTraffic> per_frontend);

}  // namespace nfgate::daemon

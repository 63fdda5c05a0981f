// After endpoints go away, their UDP flows must not keep sending to them: UDP has no end of
// connection, so the kernel's entries would live on (kube-proxy clears them for the same reason).
#pragma once

#include <string>
#include <vector>

#include "control/model.hpp"

namespace nfgate::nft {

// Every ready UDP endpoint (ip, port) of the model, sorted and unique. Pure.
std::vector<Endpoint> ready_udp_endpoints(const Model& m);

// Those of `before` not in `after` (both as ready_udp_endpoints returns them). Pure.
std::vector<Endpoint> gone_endpoints(const std::vector<Endpoint>& before, const std::vector<Endpoint>& after);

// Deletes kernel conntrack entries of UDP flows whose reply comes from one of `gone` (ip:port).
// `deleted` counts them. An entry that vanished meanwhile is not an error.
bool flush_udp_flows(const std::vector<Endpoint>& gone, size_t& deleted, std::string& err);

}  // namespace nfgate::nft

// After endpoints go away, their UDP flows must not keep sending to them: UDP has no end of
// connection, so the kernel's entries would live on (kube-proxy clears them for the same reason).
#pragma once

#include <string>
#include <vector>

#include "control/model.hpp"

namespace nfgate::nft {

// Ready UDP endpoints of the Services in `before` (their versions the kernel held) that are
// ready in none of `after` (their new versions) and nowhere in `now` (the whole new model).
// The model is scanned only when some endpoint is gone from `after`. Pure.
std::vector<Endpoint> gone_udp_endpoints(const std::vector<const Service*>& before,
                                         const std::vector<const Service*>& after, const Model& now);

// Deletes kernel conntrack entries of UDP flows whose reply comes from one of `gone` (ip:port).
// `deleted` counts them. An entry that vanished meanwhile is not an error.
bool flush_udp_flows(const std::vector<Endpoint>& gone, size_t& deleted, std::string& err);

}  // namespace nfgate::nft

// After endpoints go away, their UDP flows must not keep sending to them: UDP has no end of
// connection, so the kernel's entries would live on (kube-proxy clears them for the same reason).
// The unit is one Service port: an endpoint that left Service A but still serves Service B keeps
// B's flows and loses A's, because a flow is A's when the client addressed one of A's frontends.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace nfgate::nft {

// A UDP flow the kernel must forget: the client sent to frontend_ip:frontend_port (a ClusterIP,
// externalIP or LB IP with the Service port, or a node address with the nodePort) and the kernel
// translated it to endpoint_ip:endpoint_port. Host order.
template <typename Addr>
struct BasicStaleUdpFlow {
    Addr frontend_ip{};
    uint16_t frontend_port = 0;
    Addr endpoint_ip{};
    uint16_t endpoint_port = 0;
    auto operator<=>(const BasicStaleUdpFlow&) const = default;
};
using StaleUdpFlow = BasicStaleUdpFlow<uint32_t>;
using StaleUdpFlow6 = BasicStaleUdpFlow<Ip6>;  // the same for the IPv6 half (frontends and endpoints)

// Every (frontend, UDP endpoint) pair whose flows the Services in `before` (as `was` held them,
// with was's node addresses) kept (keeps_flows: a serving endpoint) and the Services in `after`
// (within `now`) no longer keep: the endpoint left, or stopped serving.
// Sorted, unique. Pure.
std::vector<StaleUdpFlow> stale_udp_flows(const Model& was, const std::vector<const Service*>& before,
                                          const Model& now, const std::vector<const Service*>& after);
std::vector<StaleUdpFlow6> stale_udp_flows6(const Model& was, const std::vector<const Service*>& before,
                                            const Model& now, const std::vector<const Service*>& after);

// Deletes kernel conntrack entries of UDP flows whose original destination and reply source
// match one of `stale`. `deleted` counts them. An entry that vanished meanwhile is not an error.
bool flush_udp_flows(const std::vector<StaleUdpFlow>& stale, size_t& deleted, std::string& err);
bool flush_udp_flows(const std::vector<StaleUdpFlow6>& stale, size_t& deleted, std::string& err);

}  // namespace nfgate::nft

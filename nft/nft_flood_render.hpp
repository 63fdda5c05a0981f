// The kernel path's SYN-flood defence as nftables objects (conntrack.synProxy and
// conntrack.newFlowsPerSource), pure like nft_render.cpp, which places them in the ruleset.
//
// SYN proxy: a SYN to a frontend in `synproxy-frontends` is left untracked (raw hook) and answered
// by the kernel's synproxy with a SYN cookie from the filter input/forward hooks (the only hooks
// it may run in); the client's ACK, which conntrack calls invalid while nf_conntrack_tcp_loose is
// 0, is checked against the cookie and only then does the kernel open the connection to the
// frontend itself, from its own stack: the nat output chain translates that SYN like any other.
// The objects are always there; the proxy is on while the set holds the TCP frontends, so a
// switch is one batch of set elements (see KernelPath::set_syn_proxy).
//
// New flows per source: in the filter hooks, a new connection that dstnat translated (a Service
// frontend's: nfgate's table is the only one that DNATs to endpoints) passes a token bucket per
// source address kept in a dynamic set; past its rate it is dropped and counted.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/model.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

inline constexpr const char* kSynProxySet = "synproxy-frontends";
inline constexpr const char* kRawPreroutingChain = "raw-prerouting";
inline constexpr const char* kNewFlowSourcesSet = "new-flow-sources";
inline constexpr const char* kRateLimitedCounter = "new-flows-rate-limited";

// Source addresses the per-source limit tracks at once; past that, new sources pass unlimited
// until elements expire (the kernel refuses to add more, and the rule then does not match).
inline constexpr uint32_t kNewFlowSourcesSize = 65536;

// The set, empty: the renderer adds the TCP frontends while the proxy is on.
Set synproxy_set();
// filter hook prerouting priority raw: a SYN to a proxied frontend creates no conntrack entry.
Chain raw_prerouting_chain();
// For filter-input and filter-forward, before anything returns on established traffic.
std::vector<Rule> synproxy_rules();

// newFlowsPerSource > 0: the dynamic set, the rule (after `ct state != new return`) and the
// counter's name; nothing when 0.
std::optional<Set> new_flow_sources_set(const Model& m);
std::optional<Rule> new_flow_limit_rule(const Model& m);
// Seconds an idle source is remembered: once its bucket has refilled, forgetting it changes nothing.
uint32_t new_flow_sources_timeout(const Model& m);

}  // namespace nfgate::nft

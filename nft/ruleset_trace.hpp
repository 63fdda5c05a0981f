// What the kernel would do with one new connection's first packet, worked out from the ruleset
// nfgate renders for the model (the same objects it installs): the nat and filter chains are
// walked rule by rule as the kernel evaluates them, for a packet arriving from a neighbour. Two
// things the kernel decides at run time are reported as choices, not guessed: `numgen random`
// (the endpoint, one of N at random) and the ClientIP affinity maps' contents (a client the map
// remembers goes back to its endpoint).
#pragma once

#include "model/model.hpp"
#include "model/trace_result.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

// `rs` is the rendering of the packet's family: render(m, ..., Family::ip6) for an IPv6 one.
TraceResult trace_ruleset(const Model& m, const Ruleset& rs, const TracePacket& p);

}  // namespace nfgate::nft

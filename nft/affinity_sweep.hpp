// ClientIP affinity pins that outlived their endpoint. A service port's affinity map keeps its
// name while the port and its timeout stay (nft_render.hpp), so an endpoint change leaves every
// client pinned to an endpoint that is still there where it was, as kube-proxy does. The pins
// of endpoints that left are the one thing the change must take away: the map is filled by the
// rules themselves, so nothing in the rendering removes them, and the map's lookup would go on
// sending those clients to the old endpoint until the pin times out.
#pragma once

#include <string>
#include <vector>

#include "model/model.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

// One affinity map of one family whose service port lost endpoints: its pins must point at one
// of `keep` (the port's chosen endpoints now).
struct AffinityKeep {
    std::string map;
    Family family = Family::ip;
    std::vector<BasicEndpoint<Addr>> keep;
    bool operator==(const AffinityKeep&) const = default;
};

// Every affinity map, of either family, whose service port is in both `before` (as `was` held
// it) and `after` (within `now`) with the same map, and chose an endpoint before that it no
// longer chooses. Pure.
std::vector<AffinityKeep> shrunk_affinity_maps(const std::vector<const Service*>& before,
                                               const std::vector<const Service*>& after);

// Deletes from each map the pins whose endpoint is not in its `keep`, reading the maps' elements
// from the kernel. A pin that times out meanwhile is not an error (the deletion is tried again
// on what is left).
bool sweep_affinity(const std::vector<AffinityKeep>& maps, std::string& err);

}  // namespace nfgate::nft

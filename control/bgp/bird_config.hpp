// BIRD 2's configuration for nfgate, as text. Two files: the main one (router id, peers, a
// static protocol that includes the second) and the announced routes alone, so a change of
// what is announced rewrites only that file and `configure` leaves every session up.
#pragma once

#include <string>
#include <vector>

#include "model/model.hpp"

namespace nfgate::bgp {

// Where this instance's BIRD keeps its files: beside the control socket, named after it
// (/run/nfgate/nfgate.sock -> /run/nfgate/nfgate.bird.conf, .bird.routes.conf, .bird.ctl,
// .bird.pid), so instances in different namespaces never share one.
struct BirdPaths {
    std::string config, routes, socket, pid;
};
BirdPaths bird_paths(const std::string& control_socket);

// The protocol holding the announced routes, and the name of a peer's protocol.
inline constexpr const char* kStaticProtocol = "nfgate_vips";
std::string peer_protocol(const BgpPeer& p);

std::string bird_config(const BgpSettings& bgp, const BirdPaths& paths);
// One `route P blackhole;` per prefix: BIRD holds them only to announce them (the
// configuration has no kernel protocol, so nothing reaches the kernel's tables).
std::string bird_routes(const std::vector<Cidr>& prefixes);

}  // namespace nfgate::bgp

// BIRD 2's configuration for nfgate, as text. The main file (router id, peers, a static
// protocol per family that includes that family's routes file) and the announced routes alone,
// so a change of what is announced rewrites only those and `configure` leaves every session
// up. Each peer carries its own family's routes: IPv4 VIPs to IPv4 peers, IPv6 to IPv6 peers.
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
    std::string routes6;  // the announced IPv6 routes (.bird.routes6.conf)
};
BirdPaths bird_paths(const std::string& control_socket);

// The protocol holding the announced routes, and the name of a peer's protocol.
inline constexpr const char* kStaticProtocol = "nfgate_vips";
inline constexpr const char* kStaticProtocol6 = "nfgate_vips6";  // the IPv6 ones, to IPv6 peers
std::string peer_protocol(const BgpPeer& p);

std::string bird_config(const BgpSettings& bgp, const BirdPaths& paths);
// One `route P blackhole;` per prefix: BIRD holds them only to announce them (the
// configuration has no kernel protocol, so nothing reaches the kernel's tables).
std::string bird_routes(const std::vector<Cidr>& prefixes);
std::string bird_routes6(const std::vector<Cidr6>& prefixes);

}  // namespace nfgate::bgp

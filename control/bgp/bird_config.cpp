#include "control/bgp/bird_config.hpp"

#include <algorithm>

namespace nfgate::bgp {

BirdPaths bird_paths(const std::string& control_socket) {
    std::string stem = control_socket;
    const size_t slash = stem.rfind('/');
    const size_t dot = stem.rfind('.');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) stem.erase(dot);
    return BirdPaths{stem + ".bird.conf", stem + ".bird.routes.conf", stem + ".bird.ctl", stem + ".bird.pid",
                     stem + ".bird.routes6.conf"};
}

std::string peer_protocol(const BgpPeer& p) {
    std::string name = "peer_" + (p.ipv6() ? ip6_to_string(p.address6) : ip_to_string(p.address));
    std::replace(name.begin(), name.end(), '.', '_');
    std::replace(name.begin(), name.end(), ':', '_');
    return name;
}

std::string bird_config(const BgpSettings& bgp, const BirdPaths& paths) {
    std::string c;
    c += "# Written by nfgate on every change of its bgp section; edits are lost.\n";
    c += "router id " + ip_to_string(bgp.router_id) + ";\n";
    c += "timeformat protocol \"%s\";\n";  // `show protocols`: Since in Unix seconds
    c += "log stderr { warning, error, fatal, bug };\n";
    c += "protocol device { }\n";
    c += "protocol static " + std::string(kStaticProtocol) + " {\n  ipv4;\n  include \"" + paths.routes + "\";\n}\n";
    c += "protocol static " + std::string(kStaticProtocol6) + " {\n  ipv6;\n  include \"" + paths.routes6 + "\";\n}\n";
    const bool bfd = std::any_of(bgp.peers.begin(), bgp.peers.end(), [](const BgpPeer& p) { return p.bfd; });
    if (bfd) c += "protocol bfd { }\n";
    for (const BgpPeer& p : bgp.peers) {
        c += "protocol bgp " + peer_protocol(p) + " {\n";
        c += "  local as " + std::to_string(bgp.asn) + ";\n";
        c += "  neighbor " + (p.ipv6() ? ip6_to_string(p.address6) : ip_to_string(p.address)) + " port " +
             std::to_string(p.port) + " as " +
             std::to_string(p.asn) + ";\n";
        if (p.hold_time != 0) c += "  hold time " + std::to_string(p.hold_time) + ";\n";
        if (!p.password.empty()) c += "  password \"" + p.password + "\";\n";  // the loader refuses quotes
        if (p.bfd) c += "  bfd on;\n";
        c += p.ipv6() ? "  ipv6 { import none; export where proto = \"" + std::string(kStaticProtocol6) + "\"; next hop self; };\n"
                      : "  ipv4 { import none; export where proto = \"" + std::string(kStaticProtocol) + "\"; next hop self; };\n";
        c += "}\n";
    }
    return c;
}

std::string bird_routes(const std::vector<Cidr>& prefixes) {
    std::string r = "# Written by nfgate: the routes it announces.\n";
    for (const Cidr& p : prefixes) r += "route " + cidr_to_string(p) + " blackhole;\n";
    return r;
}

std::string bird_routes6(const std::vector<Cidr6>& prefixes) {
    std::string r = "# Written by nfgate: the IPv6 routes it announces.\n";
    for (const Cidr6& p : prefixes) r += "route " + cidr6_to_string(p) + " blackhole;\n";
    return r;
}

}  // namespace nfgate::bgp

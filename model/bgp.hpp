// BGP announcement of VIPs (gateway file section `bgp`), as plain data. nfgate speaks BGP
// through its own BIRD (control/bgp/); this says whom to peer with and what to announce.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/ip6.hpp"

namespace nfgate {

struct BgpPeer {
    uint32_t address = 0;  // host order; 0 for an IPv6 peer
    uint32_t asn = 0;
    uint16_t port = 179;
    std::string password;  // TCP MD5 signature; empty: none
    uint16_t hold_time = 0;  // seconds; 0: BIRD's default (240)
    bool bfd = false;
    Ip6 address6;  // an IPv6 peer's address (all zero for an IPv4 peer)
    bool operator==(const BgpPeer&) const = default;
    bool ipv6() const { return address == 0; }
};

// Which addresses of a Service are announced (`announce`).
struct BgpAnnounce {
    bool load_balancer_ips = true;
    bool external_ips = true;
    bool cluster_ips = false;
    bool service_cidrs = false;  // the serviceCIDRs as aggregates, instead of single ClusterIPs
    bool operator==(const BgpAnnounce&) const = default;
};

struct BgpSettings {
    bool enabled = false;  // the section is present
    uint32_t asn = 0;
    uint32_t router_id = 0;  // host order
    std::vector<BgpPeer> peers;
    BgpAnnounce announce;
    bool operator==(const BgpSettings&) const = default;
};

}  // namespace nfgate

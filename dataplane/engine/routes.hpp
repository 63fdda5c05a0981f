// IPv4 routing for the fast path: connected subnets of the interfaces plus the model's static
// routes. A gateway at the cluster edge holds a handful of routes, so a longest-prefix-first
// linear scan over a small sorted array beats a trie on cache misses; it is part of the
// immutable ServiceTable snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace nfgate::engine {

struct NextHop {
    uint16_t port = 0;     // interface index (model.interfaces order)
    uint32_t gateway = 0;  // host order; 0: destination is on the link
};

class RouteTable {
public:
    // Connected subnets first, then `routes`; a static route whose next hop is not inside a
    // connected subnet is reported in `err` and the build fails.
    bool build(const std::vector<Interface>& ifaces, const std::vector<Route>& routes, std::string& err);

    // Fills `nh` for `dst`; false when no route covers it.
    bool lookup(uint32_t dst, NextHop& nh) const {
        for (const Entry& e : entries_) {
            if ((dst & e.mask) == e.net) {
                nh.port = e.port;
                nh.gateway = e.via;
                return true;
            }
        }
        return false;
    }

    // The next-hop IP to resolve with ARP for `dst` through `nh`.
    static uint32_t arp_target(uint32_t dst, const NextHop& nh) { return nh.gateway ? nh.gateway : dst; }

private:
    struct Entry {
        uint32_t net, mask, via;
        uint16_t port;
        uint8_t len;
    };
    std::vector<Entry> entries_;  // sorted by prefix length, longest first
};

}  // namespace nfgate::engine

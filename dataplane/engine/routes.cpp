#include "dataplane/engine/routes.hpp"

#include <algorithm>

namespace nfgate::engine {

bool RouteTable::build(const std::vector<Interface>& ifaces, const std::vector<Route>& routes, std::string& err) {
    entries_.clear();
    for (size_t i = 0; i < ifaces.size(); ++i) {
        Cidr c = ifaces[i].address.subnet();
        entries_.push_back(Entry{c.addr, c.mask(), 0, static_cast<uint16_t>(i), c.len});
    }
    const size_t connected = entries_.size();
    for (size_t r = 0; r < routes.size(); ++r) {
        const Route& rt = routes[r];
        // A directly connected route (via 0) must name a prefix on some interface's link.
        const uint32_t probe = rt.via ? rt.via : rt.to.addr;
        NextHop nh;
        bool found = false;
        for (size_t i = 0; i < connected && !found; ++i) {
            if ((probe & entries_[i].mask) == entries_[i].net) {
                nh.port = entries_[i].port;
                found = true;
            }
        }
        if (!found) {
            err = "routes[" + std::to_string(r) + "].via: " + ip_to_string(rt.via) + " (route to " +
                  cidr_to_string(rt.to) + ") is not inside any interface subnet; it must be a directly reachable gateway";
            return false;
        }
        entries_.push_back(Entry{rt.to.addr, rt.to.mask(), rt.via, nh.port, rt.to.len});
    }
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.len > b.len; });
    return true;
}

}  // namespace nfgate::engine

// The kernel path's per-frontend traffic, read from the element counters the ruleset carries
// (nft_render.hpp: service-ips and service-nodeports count new connections, service-traffic the
// packets and bytes of every connection by its original destination).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "model/frontends.hpp"
#include "model/ip6.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

// One element's counter as the kernel holds it. ip (ip6) is 0 for a proto . port key (NodePorts).
struct ElementCount {
    uint32_t ip = 0;  // host order; the ip table's
    Proto proto = Proto::tcp;
    uint16_t port = 0;
    uint64_t packets = 0, bytes = 0;
    bool ipv6 = false;  // read from the ip6 table: the address is ip6
    Ip6 ip6{};
};

// Dumps the counters of `set` in nfgate's table of `family` (a set whose key is address . proto
// . port, or proto . port when `proto_port`). False with `err` when the set cannot be read
// (errno ENOENT: the table or set does not exist).
bool dump_element_counters(const std::string& set, bool proto_port, std::vector<ElementCount>& out, std::string& err,
                           Family family = Family::ip);

// Running totals per frontend. An element's counter starts again from zero when the element is
// re-created (its Service lost and regained endpoints, or its target chain changed): each read
// adds what the element counted since the previous read, so the totals only grow. Counts made
// between the last read and an element's removal are lost. Both tables are read: the ip6 one's
// elements are IPv6 frontends (its absence, a model without an IPv6 half, is no error).
class KernelTraffic {
public:
    bool read(std::vector<FrontendTraffic>& out, std::string& err);

private:
    using Key = std::tuple<bool, uint32_t, Ip6, uint8_t, uint16_t>;  // IPv6, ip, ip6, proto, port
    struct Running {
        uint64_t last_packets = 0, last_bytes = 0;
        uint64_t packets = 0, bytes = 0;
        void see(uint64_t p, uint64_t b);
    };
    std::map<Key, Running> connections_, traffic_;
};

}  // namespace nfgate::nft

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

namespace nfgate::nft {

// One element's counter as the kernel holds it. ip is 0 for a proto . port key (NodePorts).
struct ElementCount {
    uint32_t ip = 0;  // host order
    Proto proto = Proto::tcp;
    uint16_t port = 0;
    uint64_t packets = 0, bytes = 0;
};

// Dumps the counters of `set` in nfgate's table (a set whose key is address . proto . port,
// or proto . port when `proto_port`). False with `err` when the set cannot be read.
bool dump_element_counters(const std::string& set, bool proto_port, std::vector<ElementCount>& out, std::string& err);

// Running totals per frontend. An element's counter starts again from zero when the element is
// re-created (its Service lost and regained endpoints, or its target chain changed): each read
// adds what the element counted since the previous read, so the totals only grow. Counts made
// between the last read and an element's removal are lost.
class KernelTraffic {
public:
    bool read(std::vector<FrontendTraffic>& out, std::string& err);

private:
    using Key = std::tuple<uint32_t, uint8_t, uint16_t>;
    struct Running {
        uint64_t last_packets = 0, last_bytes = 0;
        uint64_t packets = 0, bytes = 0;
        void see(uint64_t p, uint64_t b);
    };
    std::map<Key, Running> connections_, traffic_;
};

}  // namespace nfgate::nft

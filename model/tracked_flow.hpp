// One tracked connection as either data path reports it (the fast path's flow table, the
// kernel's conntrack): plain data for listings, independent of how each path stores it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/model.hpp"

namespace nfgate {

// Addresses and ports in host order.
struct FlowTuple {
    uint32_t src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;
    bool operator==(const FlowTuple&) const = default;
};

struct TrackedFlow {
    uint8_t proto = 0;      // IPPROTO_* (ICMP echo: the identifier is both ports)
    FlowTuple orig;         // as the first packet came: client -> frontend
    FlowTuple reply;        // as replies come: backend -> gateway (SNAT) or client
    std::string state;      // "ESTABLISHED", "SYN_SENT", "UNREPLIED", "ASSURED", ...
    std::optional<uint32_t> age_s;      // since the flow was created, where the path knows it
    std::optional<uint32_t> timeout_s;  // until it expires unless a packet comes
    std::optional<uint64_t> packets;    // both directions, where the path counts them
    std::optional<uint64_t> bytes;
};

}  // namespace nfgate

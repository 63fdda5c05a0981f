// One tracked connection as either data path reports it (the fast path's flow table, the
// kernel's conntrack): plain data for listings, independent of how each path stores it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/ip6.hpp"
#include "model/model.hpp"

namespace nfgate {

// Addresses and ports in host order. An IPv6 flow (TrackedFlow::ipv6) has its addresses in
// src6/dst6, kept as the model keeps IPv6 (network order), and src/dst 0: each path tracks the
// two families in tables of their own, and no flow changes family on the way.
struct FlowTuple {
    uint32_t src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;
    Ip6 src6{}, dst6{};
    bool operator==(const FlowTuple&) const = default;
};

struct TrackedFlow {
    uint8_t proto = 0;      // IPPROTO_* (ICMP and ICMPv6 echo: the identifier is both ports)
    bool ipv6 = false;      // both tuples' addresses are src6/dst6
    FlowTuple orig;         // as the first packet came: client -> frontend
    FlowTuple reply;        // as replies come: backend -> gateway (SNAT) or client
    std::string state;      // "ESTABLISHED", "SYN_SENT", "UNREPLIED", "ASSURED", ...
    std::optional<uint32_t> age_s;      // since the flow was created, where the path knows it
    std::optional<uint32_t> timeout_s;  // until it expires unless a packet comes
    std::optional<uint64_t> packets;    // both directions, where the path counts them
    std::optional<uint64_t> bytes;
};

}  // namespace nfgate

// Per-worker memory of where a destination address last went: output interface and the next
// hop's MAC. An established packet otherwise pays a route scan and a neighbour-table probe
// every time its destination differs from the previous packet's (every packet, when bursts mix
// many backends). Entries belong to one epoch; the epoch moves on, dropping every entry at once,
// whenever the ServiceTable snapshot (routes, interfaces) or any neighbour's MAC changes.
// Direct-mapped: a collision only costs the full lookup.
#pragma once

#include <rte_ether.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "dataplane/net/ipv6_addr.hpp"

namespace nfgate::engine {

// Over a destination address `A` (IPv4: network-order uint32_t; IPv6: Ip6), one per family.
template <class A>
class BasicNextHopCache {
public:
    struct Entry {
        A dst{};
        uint32_t epoch = 0;  // 0: never filled
        rte_ether_addr mac{};
        uint16_t port = 0;
    };

    // Called once per burst with the snapshot's generation and the neighbour table's version.
    void sync(uint64_t table_generation, uint64_t neighbour_version) {
        if (table_generation == table_generation_ && neighbour_version == neighbour_version_) return;
        table_generation_ = table_generation;
        neighbour_version_ = neighbour_version;
        if (++epoch_ == 0) {  // wrapped: entries of an old epoch 0 could look current
            entries_.fill(Entry{});
            epoch_ = 1;
        }
    }

    const Entry* find(const A& dst) const {
        const Entry& e = entries_[slot(dst)];
        return e.epoch == epoch_ && e.dst == dst ? &e : nullptr;
    }

    void remember(const A& dst, uint16_t port, const rte_ether_addr& mac) {
        entries_[slot(dst)] = Entry{dst, epoch_, mac, port};
    }

private:
    static constexpr unsigned kSlots = 1024;  // power of two

    static uint32_t slot(uint32_t dst_be) { return (dst_be * 2654435761u) >> 22 & (kSlots - 1); }
    static uint32_t slot(const Ip6& dst) { return static_cast<uint32_t>(net::ip6_spread(dst) >> 54) & (kSlots - 1); }

    std::array<Entry, kSlots> entries_{};
    uint64_t table_generation_ = ~uint64_t{0};
    uint64_t neighbour_version_ = ~uint64_t{0};
    uint32_t epoch_ = 1;
};

using NextHopCache = BasicNextHopCache<uint32_t>;
using NextHopCache6 = BasicNextHopCache<Ip6>;

}  // namespace nfgate::engine

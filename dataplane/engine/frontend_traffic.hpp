// Per-frontend traffic of the fast path: new connections, packets and bytes of every Service
// address:port (ClusterIP, externalIP, LB IP, nodeAddress:nodePort), both directions.
//
// Each frontend of a snapshot holds a small integer slot, stable across snapshots while the
// frontend exists (FrontendSlots, control thread). A flow carries its frontend's slot in its tag,
// so a worker adds an established packet to its own FrontendCounters with one indexed add and no
// lookup; untranslated flows carry slot 0, which nobody reads. Counters are written by one worker
// each and read by the control thread with relaxed loads, as WorkerStats.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace nfgate::engine {

inline constexpr uint32_t kFrontendSlots = 1u << 16;  // slot 0: no frontend

struct FrontendTotals {
    uint64_t connections = 0, packets = 0, bytes = 0;

    FrontendTotals& operator+=(const FrontendTotals& o) {
        connections += o.connections, packets += o.packets, bytes += o.bytes;
        return *this;
    }
    FrontendTotals operator-(const FrontendTotals& o) const {
        return {connections - o.connections, packets - o.packets, bytes - o.bytes};
    }
};

// One worker's counts, indexed by slot.
class FrontendCounters {
public:
    FrontendCounters() : slots_(kFrontendSlots) {}

    void packet(uint32_t slot, uint32_t bytes) {
        Slot& s = slots_[slot];
        bump(s.packets, 1);
        bump(s.bytes, bytes);
    }
    void connection(uint32_t slot) { bump(slots_[slot].connections, 1); }

    FrontendTotals read(uint32_t slot) const {
        const Slot& s = slots_[slot];
        return {s.connections.load(std::memory_order_relaxed), s.packets.load(std::memory_order_relaxed),
                s.bytes.load(std::memory_order_relaxed)};
    }

private:
    struct Slot {
        std::atomic<uint64_t> packets{0}, bytes{0}, connections{0};
    };
    static void bump(std::atomic<uint64_t>& c, uint64_t v) {
        c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }
    std::vector<Slot> slots_;
};

// Hands out slots by frontend key (control thread only). A building round takes a slot for every
// frontend of the new snapshot; finish() frees the slots of frontends that are gone. Freed slots
// go to the back of the free list and fresh ones are used first, so a slot comes back to another
// frontend as late as possible (its late packets from flows of the old frontend stay rare).
// A frontend: its service port (a 64-bit hash of "namespace/name:port/proto") and where it is
// reached. IPv4: address = ip << 16 | port, which never sets bit 63, and ip6_hi = ip6_lo = 0.
// IPv6: address = kFrontendIpv6 | port and the address itself in ip6_hi/ip6_lo (its two
// 8-byte halves as they sit in the packet). The IPv6 address is kept whole rather than folded
// into `address`: a fold of 128 bits into 48 could give two IPv6 frontends one slot, and bit 63
// keeps every IPv6 key apart from every IPv4 one.
inline constexpr uint64_t kFrontendIpv6 = uint64_t{1} << 63;

struct FrontendKey {
    uint64_t service_port = 0;
    uint64_t address = 0;
    uint64_t ip6_hi = 0, ip6_lo = 0;
    bool operator==(const FrontendKey&) const = default;
};

struct FrontendKeyHash {
    size_t operator()(const FrontendKey& k) const {
        const uint64_t v6 = (k.ip6_hi ^ k.ip6_lo * 0xbf58476d1ce4e5b9ull) * 0x94d049bb133111ebull;
        return k.service_port ^ (k.address * 0x9e3779b97f4a7c15ull) ^ v6;
    }
};

class FrontendSlots {
public:
    // The slot of `key` in this round: its old one if it had one, else a free one; 0 when all
    // are taken (the frontend is then not counted).
    uint16_t take(const FrontendKey& key);
    // Ends the round: slots not taken in it are freed. Returns the slots this round gave to new
    // frontends (their counts start from the workers' current values).
    std::vector<uint16_t> finish();
    // Ends a round whose snapshot was not built: every frontend keeps the slot it had.
    void abandon();

private:
    struct Held {
        uint16_t slot;
        uint64_t round;  // the last round that took it
    };
    std::unordered_map<FrontendKey, Held, FrontendKeyHash> live_;
    std::vector<FrontendKey> created_;  // keys this round added (an abandoned round removes them)
    uint64_t round_ = 1;
    std::vector<uint16_t> fresh_;
    std::deque<uint16_t> free_;
    uint32_t next_ = 1;
};

}  // namespace nfgate::engine

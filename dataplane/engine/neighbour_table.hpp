// IPv4 -> MAC neighbour table shared by all workers. ARP replies for a next hop may arrive on
// any worker's queue, so learning on one worker must be visible to all. Fixed size, allocated
// once; readers take no lock: a slot's IP is claimed once with compare-and-swap and never
// changes, its MAC word is one atomic 64-bit store. A gateway has few neighbours (its next hops
// and the hosts on its links), so entries are never evicted; a full table refuses to learn.
#pragma once

#include <rte_ether.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

namespace nfgate::engine {

class NeighbourTable {
public:
    static constexpr uint32_t kSlots = 4096;  // power of two; far above any edge link's hosts
    // One ARP request per unresolved neighbour per second keeps a silent host from being
    // flooded at packet rate (RFC 1122 2.3.2.1 asks for at most one per second).
    static constexpr uint64_t kRequestIntervalNs = 1'000'000'000;

    NeighbourTable() : slots_(std::make_unique<Slot[]>(kSlots)) {}

    bool lookup(uint32_t ip, rte_ether_addr& mac) const {
        const Slot* s = find(ip);
        if (s == nullptr) return false;
        uint64_t w = s->mac.load(std::memory_order_acquire);
        if ((w & kValid) == 0) return false;
        unpack(w, mac);
        return true;
    }

    // Records `ip` at `mac` (ARP request or reply seen). False when the table is full.
    bool learn(uint32_t ip, const rte_ether_addr& mac) {
        Slot* s = claim(ip);
        if (s == nullptr) return false;
        uint64_t w = pack(mac) | kValid;
        if (s->mac.load(std::memory_order_relaxed) != w) s->mac.store(w, std::memory_order_release);
        return true;
    }

    // True when the caller should send an ARP request for `ip` now (first miss, or the last
    // request is older than the interval). Claims the slot so a later reply is awaited.
    bool should_request(uint32_t ip, uint64_t now_ns) {
        Slot* s = claim(ip);
        if (s == nullptr) return false;
        uint64_t last = s->last_request_ns.load(std::memory_order_relaxed);
        if (last != 0 && now_ns - last < kRequestIntervalNs) return false;
        return s->last_request_ns.compare_exchange_strong(last, now_ns == 0 ? 1 : now_ns,
                                                          std::memory_order_relaxed);
    }

private:
    static constexpr uint64_t kValid = uint64_t{1} << 63;

    struct alignas(32) Slot {
        std::atomic<uint32_t> ip{0};  // 0: free (0.0.0.0 is never a neighbour)
        std::atomic<uint64_t> mac{0};
        std::atomic<uint64_t> last_request_ns{0};
    };

    static uint32_t home(uint32_t ip) { return (ip * 2654435761u) >> 20 & (kSlots - 1); }

    static uint64_t pack(const rte_ether_addr& mac) {
        uint64_t w = 0;
        std::memcpy(&w, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
        return w;
    }
    static void unpack(uint64_t w, rte_ether_addr& mac) { std::memcpy(mac.addr_bytes, &w, RTE_ETHER_ADDR_LEN); }

    const Slot* find(uint32_t ip) const {
        if (ip == 0) return nullptr;
        for (uint32_t i = home(ip), n = 0; n < kSlots; i = (i + 1) & (kSlots - 1), ++n) {
            uint32_t cur = slots_[i].ip.load(std::memory_order_acquire);
            if (cur == ip) return &slots_[i];
            if (cur == 0) return nullptr;
        }
        return nullptr;
    }

    Slot* claim(uint32_t ip) {
        if (ip == 0) return nullptr;
        for (uint32_t i = home(ip), n = 0; n < kSlots; i = (i + 1) & (kSlots - 1), ++n) {
            uint32_t cur = slots_[i].ip.load(std::memory_order_acquire);
            if (cur == 0 &&
                slots_[i].ip.compare_exchange_strong(cur, ip, std::memory_order_acq_rel, std::memory_order_acquire))
                return &slots_[i];
            if (cur == ip) return &slots_[i];
        }
        return nullptr;
    }

    std::unique_ptr<Slot[]> slots_;
};

}  // namespace nfgate::engine

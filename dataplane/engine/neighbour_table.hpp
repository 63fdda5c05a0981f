// IPv4 -> MAC neighbour table shared by all workers. ARP replies for a next hop may arrive on
// any worker's queue, so learning on one worker must be visible to all. Fixed size, allocated
// once; readers take no lock: a slot's IP is claimed once with compare-and-swap and never
// changes, its MAC word is one atomic 64-bit store. Only hosts that talk to the gateway (ARP
// for its addresses, or answer its requests) are added, so entries are never evicted; a full
// table refuses to learn.
//
// ArpRequestLimiter, per worker, paces the requests for unresolved next hops.
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
        store(*s, pack(mac) | kValid);
        return true;
    }

    // Updates `ip` only when it is already known (RFC 826: the merge step for senders that are
    // not talking to us), so a busy link cannot fill the table with hosts the gateway never
    // forwards to.
    void refresh(uint32_t ip, const rte_ether_addr& mac) {
        Slot* s = const_cast<Slot*>(find(ip));
        if (s == nullptr) return;
        store(*s, pack(mac) | kValid);
    }

    // Moves on whenever some neighbour's MAC is set or changes (workers' next-hop caches
    // compare it once per burst).
    uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    static constexpr uint64_t kValid = uint64_t{1} << 63;

    struct alignas(16) Slot {
        std::atomic<uint32_t> ip{0};  // 0: free (0.0.0.0 is never a neighbour)
        std::atomic<uint64_t> mac{0};
    };

    static uint32_t home(uint32_t ip) { return (ip * 2654435761u) >> 20 & (kSlots - 1); }

    static uint64_t pack(const rte_ether_addr& mac) {
        uint64_t w = 0;
        std::memcpy(&w, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
        return w;
    }
    static void unpack(uint64_t w, rte_ether_addr& mac) { std::memcpy(mac.addr_bytes, &w, RTE_ETHER_ADDR_LEN); }

    void store(Slot& s, uint64_t w) {
        if (s.mac.load(std::memory_order_relaxed) == w) return;
        s.mac.store(w, std::memory_order_release);
        version_.fetch_add(1, std::memory_order_release);
    }

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
    std::atomic<uint64_t> version_{0};
};

// One ARP request per unresolved neighbour per second and worker keeps a silent host from
// being flooded at packet rate (RFC 1122 2.3.2.1 asks for at most one per second). A small
// direct-mapped memory: a collision only costs an extra request.
class ArpRequestLimiter {
public:
    static constexpr uint64_t kIntervalNs = 1'000'000'000;

    bool should_request(uint32_t ip, uint64_t now_ns) {
        Entry& e = entries_[(ip * 2654435761u) >> 24];
        if (e.ip == ip && now_ns - e.last_ns < kIntervalNs) return false;
        e.ip = ip;
        e.last_ns = now_ns;
        return true;
    }

private:
    struct Entry {
        uint32_t ip = 0;
        uint64_t last_ns = 0;
    };
    std::array<Entry, 256> entries_{};
};

}  // namespace nfgate::engine

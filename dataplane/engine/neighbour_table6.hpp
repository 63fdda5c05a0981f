// IPv6 -> MAC neighbour table shared by all workers: what neighbour discovery taught the
// gateway (advertisements answering its solicitations, and the source link-layer address of
// solicitations sent to it, RFC 4861 7.2.3 / 7.2.5). An advertisement may arrive on any worker's
// queue, so learning on one worker is visible to all.
//
// Open addressing with linear probing over a bounded window, fixed size. A 16-byte address
// cannot be claimed with one compare-and-swap, so writers (rare: a neighbour is learnt once and
// refreshed now and then) take a spinlock, and each slot is a sequence lock: readers take no
// lock, read address and MAC between two reads of the slot's sequence and retry when a writer
// was in between. Entries are not aged out; a neighbour's MAC is refreshed whenever it
// advertises or solicits again. When a new neighbour's probe window is full, the neighbour in
// it heard from longest ago gives up its slot, so a flood of solicitations from made-up sources
// cannot keep a real next hop from being learnt.
#pragma once

#include <rte_ether.h>
#include <rte_pause.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "model/ip6.hpp"

namespace nfgate::engine {

class NeighbourTable6 {
public:
    static constexpr uint32_t kSlots = 2048;  // power of two
    static constexpr uint32_t kMaxProbe = 64;

    NeighbourTable6() : slots_(std::make_unique<Slot[]>(kSlots)) {}

    bool lookup(const Ip6& ip, rte_ether_addr& mac) const {
        uint64_t hi, lo;
        split(ip, hi, lo);
        for (uint32_t i = home(hi, lo), n = 0; n < kMaxProbe; i = (i + 1) & (kSlots - 1), ++n) {
            const Slot& s = slots_[i];
            for (;;) {
                const uint32_t seq = s.seq.load(std::memory_order_acquire);
                if (seq & 1) {
                    rte_pause();
                    continue;
                }
                const uint64_t h = s.hi.load(std::memory_order_relaxed), l = s.lo.load(std::memory_order_relaxed);
                const uint64_t w = s.mac.load(std::memory_order_relaxed);
                std::atomic_thread_fence(std::memory_order_acquire);
                if (s.seq.load(std::memory_order_relaxed) != seq) continue;
                if (w == 0) return false;  // never used: the end of the probe chain
                if (h != hi || l != lo) break;
                std::memcpy(mac.addr_bytes, &w, RTE_ETHER_ADDR_LEN);
                return true;
            }
        }
        return false;
    }

    // Records `ip` at `mac`, heard at `now_s`; in a full probe window it takes the slot of the
    // neighbour heard from longest ago (`evicted` counts those).
    bool learn(const Ip6& ip, const rte_ether_addr& mac, uint32_t now_s = 0) { return write(ip, mac, true, now_s); }
    // Updates `ip` only when it is already known.
    void refresh(const Ip6& ip, const rte_ether_addr& mac, uint32_t now_s = 0) { write(ip, mac, false, now_s); }
    uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }

    // Moves on whenever a neighbour's MAC is set or changes.
    uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    struct alignas(32) Slot {
        std::atomic<uint32_t> seq{0};
        std::atomic<uint64_t> hi{0}, lo{0};
        std::atomic<uint64_t> mac{0};  // the MAC in its low 6 bytes with bit 63 set; 0: never used
        uint32_t heard_s = 0;          // the writers' only (under the lock)
    };
    static constexpr uint64_t kUsed = uint64_t{1} << 63;

    static void split(const Ip6& ip, uint64_t& hi, uint64_t& lo) {
        std::memcpy(&hi, ip.data(), 8);
        std::memcpy(&lo, ip.data() + 8, 8);
    }
    static uint32_t home(uint64_t hi, uint64_t lo) {
        const uint64_t x = (hi ^ (lo * 0x9e3779b97f4a7c15ull));
        return static_cast<uint32_t>(x >> 40) & (kSlots - 1);
    }

    bool write(const Ip6& ip, const rte_ether_addr& mac, bool add, uint32_t now_s) {
        uint64_t hi, lo, w = kUsed;
        split(ip, hi, lo);
        std::memcpy(&w, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
        while (lock_.test_and_set(std::memory_order_acquire)) rte_pause();
        Slot* target = nullptr;
        Slot* oldest = nullptr;
        bool same = false;
        for (uint32_t i = home(hi, lo), n = 0; n < kMaxProbe; i = (i + 1) & (kSlots - 1), ++n) {
            Slot& s = slots_[i];
            const bool empty = s.mac.load(std::memory_order_relaxed) == 0;
            if (!empty && s.hi.load(std::memory_order_relaxed) == hi && s.lo.load(std::memory_order_relaxed) == lo) {
                target = &s;
                same = true;
                break;
            }
            if (empty) {  // the end of the chain: the neighbour is not there
                if (add) target = &s;
                break;
            }
            if (oldest == nullptr || s.heard_s < oldest->heard_s) oldest = &s;
        }
        if (target == nullptr && add && oldest != nullptr) {
            target = oldest;  // a full window: the one heard from longest ago goes
            evicted_.fetch_add(1, std::memory_order_relaxed);
        }
        if (target != nullptr) {
            if (!same || target->mac.load(std::memory_order_relaxed) != w) {
                const uint32_t seq = target->seq.load(std::memory_order_relaxed);
                target->seq.store(seq + 1, std::memory_order_relaxed);
                std::atomic_thread_fence(std::memory_order_release);
                target->hi.store(hi, std::memory_order_relaxed);
                target->lo.store(lo, std::memory_order_relaxed);
                target->mac.store(w, std::memory_order_relaxed);
                target->seq.store(seq + 2, std::memory_order_release);
                version_.fetch_add(1, std::memory_order_release);
            }
            target->heard_s = now_s;
        }
        lock_.clear(std::memory_order_release);
        return target != nullptr;
    }

    std::unique_ptr<Slot[]> slots_;
    std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
    std::atomic<uint64_t> version_{0};
    std::atomic<uint64_t> evicted_{0};
};

}  // namespace nfgate::engine

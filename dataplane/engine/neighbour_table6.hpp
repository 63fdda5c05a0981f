// IPv6 -> MAC neighbour table shared by all workers: what neighbour discovery taught the
// gateway (advertisements answering its solicitations, and the source link-layer address of
// solicitations sent to it, RFC 4861 7.2.3 / 7.2.5). An advertisement may arrive on any worker's
// queue, so learning on one worker is visible to all.
//
// Open addressing with linear probing over a bounded window, fixed size. A 16-byte address
// cannot be claimed with one compare-and-swap, so writers (rare: a neighbour is learnt once and
// refreshed now and then) take a spinlock, and each slot is a sequence lock: readers take no
// lock, read address and MAC between two reads of the slot's sequence and retry when a writer
// was in between. A removed entry leaves a tombstone, so the probe chains through it stay
// whole; the next learner reuses it.
//
// Ageing, as the IPv4 table and in the spirit of RFC 4861 7.3 (neighbour unreachability
// detection): worker 0 calls age() once a second; an entry not confirmed (advertised or
// solicited) for kReachableSeconds is probed with unicast solicitations to its cached MAC, a
// second apart, and removed after kProbes unanswered ones, so a pod address that came back on
// another MAC is learnt again. When a new neighbour's probe window is full, the entry in it used
// as a next hop longest ago (then heard from longest ago) gives up its slot: a flood of
// solicitations from made-up sources cannot keep a real next hop from being learnt, nor push
// out the next hops traffic is going to.
#pragma once

#include <rte_ether.h>
#include <rte_pause.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/net/ipv6_addr.hpp"

namespace nfgate::engine {

// A unicast solicitation worker 0 sends to confirm an aged neighbour.
struct NeighbourProbe6 {
    Ip6 ip;
    rte_ether_addr mac;
};

class NeighbourTable6 {
public:
    static constexpr uint32_t kSlots = 2048;  // power of two (home() takes 11 bits)
    static constexpr uint32_t kMaxProbe = 64;
    static constexpr uint32_t kReachableSeconds = 300;  // unconfirmed this long: probed
    static constexpr uint8_t kProbes = 3;               // unanswered probes before removal

    NeighbourTable6() : slots_(std::make_unique<Slot[]>(kSlots)) {}

    // `now_s` (non-zero) marks the neighbour as used as a next hop: the last to be displaced.
    bool lookup(const Ip6& ip, rte_ether_addr& mac, uint32_t now_s = 0) const {
        uint64_t hi, lo;
        split(ip, hi, lo);
        for (uint32_t i = home(ip), n = 0; n < kMaxProbe; i = (i + 1) & (kSlots - 1), ++n) {
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
                if (w == kTombstone || h != hi || l != lo) break;
                std::memcpy(mac.addr_bytes, &w, RTE_ETHER_ADDR_LEN);
                if (now_s != 0 && s.used_s.load(std::memory_order_relaxed) != now_s)
                    s.used_s.store(now_s, std::memory_order_relaxed);
                return true;
            }
        }
        return false;
    }

    // Records `ip` at `mac`, heard at `now_s`; in a full probe window it takes the slot of the
    // neighbour least recently used (`evicted` counts those).
    bool learn(const Ip6& ip, const rte_ether_addr& mac, uint32_t now_s = 0) { return write(ip, mac, true, now_s); }
    // Updates `ip` only when it is already known.
    void refresh(const Ip6& ip, const rte_ether_addr& mac, uint32_t now_s = 0) { write(ip, mac, false, now_s); }
    uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }

    // Worker 0, once a second: removes the entries that stayed silent through their probes and
    // returns the solicitations to send for the ones that are due one.
    std::vector<NeighbourProbe6> age(uint32_t now_s);

    // Moves on whenever a neighbour's MAC is set, changes or goes.
    uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    struct alignas(64) Slot {
        std::atomic<uint32_t> seq{0};
        std::atomic<uint64_t> hi{0}, lo{0};
        std::atomic<uint64_t> mac{0};  // the MAC in its low 6 bytes with bit 63 set; 0: never used
        mutable std::atomic<uint32_t> used_s{0};  // last resolved as a next hop
        uint32_t heard_s = 0;  // the writers' only (under the lock)
        uint8_t probes = 0;    // likewise: solicitations sent since it was last heard
    };
    static constexpr uint64_t kUsed = uint64_t{1} << 63;
    static constexpr uint64_t kTombstone = uint64_t{1} << 62;  // removed: the chain goes on

    static void split(const Ip6& ip, uint64_t& hi, uint64_t& lo) {
        std::memcpy(&hi, ip.data(), 8);
        std::memcpy(&lo, ip.data() + 8, 8);
    }
    static uint32_t home(const Ip6& ip) { return static_cast<uint32_t>(net::ip6_spread(ip) >> 53) & (kSlots - 1); }
    // Whether `s` goes before `t` when a full window must give one up.
    static bool older(const Slot& s, const Slot& t) {
        const uint32_t su = s.used_s.load(std::memory_order_relaxed), tu = t.used_s.load(std::memory_order_relaxed);
        return su != tu ? su < tu : s.heard_s < t.heard_s;
    }

    bool write(const Ip6& ip, const rte_ether_addr& mac, bool add, uint32_t now_s);
    void set(Slot& s, uint64_t hi, uint64_t lo, uint64_t mac);  // under the lock
    void lock() {
        while (lock_.test_and_set(std::memory_order_acquire)) rte_pause();
    }
    void unlock() { lock_.clear(std::memory_order_release); }

    std::unique_ptr<Slot[]> slots_;
    std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
    std::atomic<uint64_t> version_{0};
    std::atomic<uint64_t> evicted_{0};
};

}  // namespace nfgate::engine

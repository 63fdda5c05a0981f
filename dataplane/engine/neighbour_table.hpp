// IPv4 -> MAC neighbour table shared by all workers. ARP replies for a next hop may arrive on
// any worker's queue, so learning on one worker must be visible to all. Fixed size, allocated
// once; readers take no lock.
//
// Open addressing with linear probing over a bounded window. A slot's IP is claimed with
// compare-and-swap; its MAC is one atomic 64-bit word. Removal (the ager only) leaves a
// tombstone so the probe chains of other entries stay intact, and a tombstone is claimed again by
// the next learner. A reader checks the slot's IP again after reading the MAC, so a slot that was
// removed and reused under it is never read as the old neighbour.
//
// Only hosts that talk to the gateway (ARP for its addresses, or answer its requests) are added.
// One port may hold at most kPortQuota entries, so a flood of senders on one link cannot take
// the others' room. Worker 0 ages the table once a second (age(); it owns TX queues for the
// probes, and one remover keeps removal single-threaded): an entry not
// confirmed by ARP for kReachableSeconds is probed, a few times a second apart, and removed if
// it stays silent; a port at its quota gives up its least recently used entries, so a host that
// appears after a flood is learnt within a second (next hops in use are the last to go).
//
// ArpRequestLimiter, per worker, paces the requests for unresolved next hops.
#pragma once

#include <rte_ether.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace nfgate::engine {

// An ARP request worker 0 sends for an aged neighbour.
struct NeighbourProbe {
    uint16_t port = 0;
    uint32_t ip = 0;  // host order
};

class NeighbourTable {
public:
    static constexpr uint32_t kSlots = 4096;  // power of two; far above any edge link's hosts
    static constexpr uint32_t kMaxProbe = 128;  // an entry lives within this many slots of its home
    static constexpr uint32_t kMaxPorts = 16;
    static constexpr uint32_t kPortQuota = kSlots / 2;
    static constexpr uint32_t kReachableSeconds = 300;  // unconfirmed this long: probed
    static constexpr uint8_t kProbes = 3;              // unanswered probes before removal

    NeighbourTable() : slots_(std::make_unique<Slot[]>(kSlots)), probes_(kSlots, 0) {}

    // `now_s` marks the neighbour as used (a next hop being resolved): the last to be evicted.
    bool lookup(uint32_t ip, rte_ether_addr& mac, uint32_t now_s = 0) const {
        const Slot* s = find(ip);
        if (s == nullptr) return false;
        const uint64_t w = s->mac.load(std::memory_order_acquire);
        if ((w & kValid) == 0 || s->ip.load(std::memory_order_acquire) != ip) return false;
        unpack(w, mac);
        if (now_s != 0 && s->used_s.load(std::memory_order_relaxed) != now_s)
            s->used_s.store(now_s, std::memory_order_relaxed);
        return true;
    }

    // Records `ip` at `mac`, seen on `port` (ARP request to us or reply to our request). False
    // when the port's share of the table or the probe window is full.
    bool learn(uint32_t ip, const rte_ether_addr& mac, uint16_t port, uint32_t now_s);

    // Updates `ip` only when it is already known (RFC 826: the merge step for senders that are
    // not talking to us), so a busy link cannot fill the table with hosts the gateway never
    // forwards to.
    void refresh(uint32_t ip, const rte_ether_addr& mac, uint32_t now_s) {
        Slot* s = const_cast<Slot*>(find(ip));
        if (s == nullptr) return;
        store(*s, pack(mac) | kValid);
        s->confirmed_s.store(now_s, std::memory_order_relaxed);
    }

    // Worker 0, once a second: probes and removals as described above. Returns the ARP
    // requests to send (at most one per aged entry per call).
    std::vector<NeighbourProbe> age(uint32_t now_s);

    uint32_t size(uint16_t port) const { return port < kMaxPorts ? per_port_[port].load(std::memory_order_relaxed) : 0; }
    // Moves on whenever some neighbour's MAC is set, changes or goes (workers' next-hop caches
    // compare it once per burst).
    uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    static constexpr uint64_t kValid = uint64_t{1} << 63;
    static constexpr uint32_t kTombstone = 0xffffffffu;  // 255.255.255.255 is never a neighbour

    struct alignas(32) Slot {
        std::atomic<uint32_t> ip{0};  // 0: never used (ends a probe chain); kTombstone: removed
        std::atomic<uint32_t> confirmed_s{0};      // last ARP from it
        mutable std::atomic<uint32_t> used_s{0};   // last resolved as a next hop
        std::atomic<uint16_t> port{0};
        std::atomic<uint64_t> mac{0};
    };

    static uint32_t home(uint32_t ip) { return (ip * 2654435761u) >> 20 & (kSlots - 1); }
    static bool is_neighbour(uint32_t ip) { return ip != 0 && ip != kTombstone; }

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
        if (!is_neighbour(ip)) return nullptr;
        for (uint32_t i = home(ip), n = 0; n < kMaxProbe; i = (i + 1) & (kSlots - 1), ++n) {
            const uint32_t cur = slots_[i].ip.load(std::memory_order_acquire);
            if (cur == ip) return &slots_[i];
            if (cur == 0) return nullptr;
        }
        return nullptr;
    }

    Slot* claim(uint32_t ip, uint16_t port);
    void remove(uint32_t index);

    std::unique_ptr<Slot[]> slots_;
    std::array<std::atomic<uint32_t>, kMaxPorts> per_port_{};
    std::vector<uint8_t> probes_;  // the ager's only: probes sent since the last confirmation
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

// sessionAffinity: ClientIP — which endpoint a client was last sent to, per service port, for
// timeoutSeconds after its last new connection (the kube-proxy "recent" semantics). Shared by
// all workers, fixed size, no lock: each slot is guarded by a sequence counter that a writer
// makes odd while it writes; a reader that sees an odd or changed counter treats the slot as a
// miss (the connection is then balanced by Maglev, never mis-pinned to a torn value). A set of
// four slots per hash lets a few colliding clients coexist; past that the stalest entry yields.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

namespace nfgate::engine {

class AffinityTable {
public:
    static constexpr uint32_t kSets = 1u << 14;
    static constexpr uint32_t kWays = 4;

    AffinityTable() : slots_(std::make_unique<Slot[]>(kSets * kWays)) {}

    // Endpoint (ip, port; host order) pinned for `client` on service port `port_id`, if its
    // entry has not expired at `now_s`.
    bool find(uint32_t client, uint32_t port_id, uint32_t now_s, uint32_t& ip, uint16_t& port) const {
        const uint64_t key = make_key(client, port_id);
        const Slot* set = &slots_[set_of(key) * kWays];
        for (uint32_t w = 0; w < kWays; ++w) {
            const Slot& s = set[w];
            const uint32_t seq = s.seq.load(std::memory_order_acquire);
            if (seq & 1) continue;
            const uint64_t k = s.key.load(std::memory_order_relaxed);
            const uint64_t v = s.value.load(std::memory_order_relaxed);
            const uint32_t expiry = s.expiry.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (s.seq.load(std::memory_order_relaxed) != seq || k != key) continue;
            if (static_cast<int32_t>(expiry - now_s) <= 0) return false;
            ip = static_cast<uint32_t>(v >> 16);
            port = static_cast<uint16_t>(v);
            return true;
        }
        return false;
    }

    // Pins `client` to (ip, port) until now_s + timeout_s. Gives up silently when another
    // worker is writing the chosen slot at this instant: affinity is then re-learnt on the
    // client's next connection.
    void remember(uint32_t client, uint32_t port_id, uint32_t ip, uint16_t port, uint32_t now_s, uint32_t timeout_s) {
        const uint64_t key = make_key(client, port_id);
        Slot* set = &slots_[set_of(key) * kWays];
        Slot* target = &set[0];
        int32_t stalest = std::numeric_limits<int32_t>::max();
        for (uint32_t w = 0; w < kWays; ++w) {
            if (set[w].key.load(std::memory_order_relaxed) == key) {
                target = &set[w];
                break;
            }
            const int32_t left = static_cast<int32_t>(set[w].expiry.load(std::memory_order_relaxed) - now_s);
            if (left < stalest) {
                stalest = left;
                target = &set[w];
            }
        }
        uint32_t seq = target->seq.load(std::memory_order_relaxed);
        if ((seq & 1) || !target->seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire))
            return;
        std::atomic_thread_fence(std::memory_order_release);
        target->key.store(key, std::memory_order_relaxed);
        target->value.store(uint64_t{ip} << 16 | port, std::memory_order_relaxed);
        target->expiry.store(now_s + timeout_s, std::memory_order_relaxed);
        target->seq.store(seq + 2, std::memory_order_release);
    }

private:
    struct alignas(32) Slot {
        std::atomic<uint32_t> seq{0};
        std::atomic<uint32_t> expiry{0};
        std::atomic<uint64_t> key{0};    // client << 32 | port id; 0: empty (port ids are never 0)
        std::atomic<uint64_t> value{0};  // ip << 16 | port
    };

    static uint64_t make_key(uint32_t client, uint32_t port_id) { return uint64_t{client} << 32 | port_id; }
    static uint32_t set_of(uint64_t key) {
        key ^= key >> 29;
        key *= 0xbf58476d1ce4e5b9ULL;
        key ^= key >> 32;
        return static_cast<uint32_t>(key) & (kSets - 1);
    }

    std::unique_ptr<Slot[]> slots_;
};

}  // namespace nfgate::engine

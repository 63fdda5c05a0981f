// Liveness of the backends (endpoints) flows are pinned to, so a flow whose endpoint went away is
// recognised at once without touching the flow table: each flow stores the 32-bit id its backend
// had when the flow was created, and the registry says whether that id is still current.
//
// An id is (generation << 20) | slot. The control thread assigns ids (update()); workers only call
// alive(), one relaxed load of a small shared array. When an endpoint leaves the model its slot
// gets a new generation, so every flow holding the old id reads as dead; id 0 means "no backend"
// (e.g. plain egress masquerade) and is always alive.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

namespace nfgate::ct {

// Endpoint identity; the byte order is the caller's choice as long as it is always the same.
struct BackendKey {
    uint32_t ip = 0;
    uint16_t port = 0;
    uint8_t proto = 0;
    bool operator==(const BackendKey&) const = default;
};

class BackendRegistry {
public:
    static constexpr unsigned kSlotBits = 20;
    static constexpr uint32_t kMaxCapacity = 1u << kSlotBits;

    explicit BackendRegistry(uint32_t capacity);
    BackendRegistry(const BackendRegistry&) = delete;
    BackendRegistry& operator=(const BackendRegistry&) = delete;

    // Control thread only. Makes the live set exactly `current`: ids of endpoints still present
    // are kept (their flows live on), endpoints no longer present are retired (their flows are
    // dead from now on), new ones get fresh ids. Returns false, changing nothing, when the new set
    // does not fit the capacity.
    bool update(std::span<const BackendKey> current);

    // Control thread only: the id update() gave `k`, 0 when `k` is not in the live set.
    uint32_t id_of(const BackendKey& k) const;

    // Any thread, no lock.
    bool alive(uint32_t id) const {
        if (id == 0) return true;
        return live_[id & (kMaxCapacity - 1)].load(std::memory_order_relaxed) == id;
    }

    uint32_t capacity() const { return capacity_; }
    size_t live_count() const { return ids_.size(); }

private:
    struct KeyHash {
        size_t operator()(const BackendKey& k) const {
            return (uint64_t{k.ip} << 24) ^ (uint64_t{k.port} << 8) ^ k.proto;
        }
    };

    uint32_t capacity_;
    std::unique_ptr<std::atomic<uint32_t>[]> live_;  // slot -> current id, 0 when free
    std::vector<uint16_t> generation_;               // slot -> last generation handed out
    std::deque<uint32_t> free_slots_;                // FIFO: a retired slot is reused late
    std::unordered_map<BackendKey, uint32_t, KeyHash> ids_;
};

}  // namespace nfgate::ct

// Control-thread side of the backend liveness registry.
#include "dataplane/conntrack/backend_registry.hpp"

#include <algorithm>
#include <unordered_set>

namespace nfgate::ct {

namespace {
constexpr uint32_t kGenerationLimit = 1u << (32 - BackendRegistry::kSlotBits);
}

BackendRegistry::BackendRegistry(uint32_t capacity)
    : capacity_(std::clamp<uint32_t>(capacity, 1, kMaxCapacity)),
      live_(new std::atomic<uint32_t>[capacity_]),
      generation_(capacity_, 0) {
    for (uint32_t i = 0; i < capacity_; i++) {
        live_[i].store(0, std::memory_order_relaxed);
        free_slots_.push_back(i);
    }
}

bool BackendRegistry::update(std::span<const BackendKey> current) {
    const std::unordered_set<BackendKey, KeyHash> wanted(current.begin(), current.end());
    if (wanted.size() > capacity_) return false;

    for (auto it = ids_.begin(); it != ids_.end();) {
        if (wanted.count(it->first) != 0) {
            ++it;
            continue;
        }
        const uint32_t slot = it->second & (kMaxCapacity - 1);
        live_[slot].store(0, std::memory_order_release);
        free_slots_.push_back(slot);
        it = ids_.erase(it);
    }
    for (const auto& k : wanted) {
        if (ids_.count(k) != 0) continue;
        const uint32_t slot = free_slots_.front();
        free_slots_.pop_front();
        uint32_t gen = generation_[slot] + 1u;
        if (gen >= kGenerationLimit) gen = 1;
        generation_[slot] = static_cast<uint16_t>(gen);
        const uint32_t id = (gen << kSlotBits) | slot;
        live_[slot].store(id, std::memory_order_release);
        ids_.emplace(k, id);
    }
    return true;
}

uint32_t BackendRegistry::id_of(const BackendKey& k) const {
    auto it = ids_.find(k);
    return it == ids_.end() ? 0 : it->second;
}

}  // namespace nfgate::ct

#include "dataplane/engine/frontend_traffic.hpp"

namespace nfgate::engine {

uint16_t FrontendSlots::take(const FrontendKey& key) {
    if (const auto it = live_.find(key); it != live_.end()) {
        it->second.round = round_;
        return it->second.slot;
    }
    uint16_t slot = 0;
    if (next_ < kFrontendSlots) {
        slot = static_cast<uint16_t>(next_++);
    } else if (!free_.empty()) {
        slot = free_.front();
        free_.pop_front();
    }
    if (slot == 0) return 0;
    fresh_.push_back(slot);
    created_.push_back(key);
    live_.emplace(key, Held{slot, round_});
    return slot;
}

std::vector<uint16_t> FrontendSlots::finish() {
    for (auto it = live_.begin(); it != live_.end();) {
        if (it->second.round == round_) {
            ++it;
            continue;
        }
        free_.push_back(it->second.slot);
        it = live_.erase(it);
    }
    ++round_;
    created_.clear();
    std::vector<uint16_t> fresh;
    fresh.swap(fresh_);
    return fresh;
}

void FrontendSlots::abandon() {
    // What the round added goes; what it took again stays as it was (a later finish() frees
    // it if that round does not take it either).
    for (const FrontendKey& k : created_) live_.erase(k);
    created_.clear();
    for (uint16_t slot : fresh_) free_.push_front(slot);
    fresh_.clear();
    ++round_;
}

}  // namespace nfgate::engine

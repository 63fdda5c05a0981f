#include "dataplane/engine/frontend_traffic.hpp"

namespace nfgate::engine {

uint16_t FrontendSlots::take(const FrontendKey& key) {
    if (const auto it = round_.find(key); it != round_.end()) return it->second;
    uint16_t slot = 0;
    if (const auto it = live_.find(key); it != live_.end()) {
        slot = it->second;
    } else if (next_ < kFrontendSlots) {
        slot = static_cast<uint16_t>(next_++);
        fresh_.push_back(slot);
    } else if (!free_.empty()) {
        slot = free_.front();
        free_.pop_front();
        fresh_.push_back(slot);
    }
    if (slot != 0) round_.emplace(key, slot);
    return slot;
}

std::vector<uint16_t> FrontendSlots::finish() {
    for (const auto& [key, slot] : live_)
        if (!round_.contains(key)) free_.push_back(slot);
    live_.swap(round_);
    round_.clear();
    std::vector<uint16_t> fresh;
    fresh.swap(fresh_);
    return fresh;
}

void FrontendSlots::abandon() {
    round_.clear();
    for (uint16_t slot : fresh_) free_.push_front(slot);
    fresh_.clear();
}

}  // namespace nfgate::engine

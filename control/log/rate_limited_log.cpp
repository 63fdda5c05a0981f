#include "control/log/rate_limited_log.hpp"

#include <chrono>

namespace nfgate::log {

bool LineBudget::admit(uint64_t now, uint64_t& held_back) {
    held_back = 0;
    uint64_t seen = second_.load(std::memory_order_relaxed);
    // The first line of a new second opens it; a racing thread that loses the exchange simply
    // counts against the second the winner opened.
    if (now != seen && second_.compare_exchange_strong(seen, now, std::memory_order_relaxed))
        used_.store(0, std::memory_order_relaxed);
    if (used_.fetch_add(1, std::memory_order_relaxed) >= per_second_) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    held_back = refused_.exchange(0, std::memory_order_relaxed);
    return true;
}

void RateLimitedLog::write(Level level, std::string_view text) {
    const auto now = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
    for_each_line(text, [&](std::string_view one) {
        uint64_t held_back = 0;
        if (!budget_.admit(now, held_back)) return;
        if (held_back > 0)
            line(Level::warning, std::string(kPrefix) + label_ + std::to_string(held_back) +
                                     " lines were held back (at most " + std::to_string(per_second_) +
                                     " a second are logged)");
        line(level, std::string(kPrefix) + label_ + std::string(one));
    });
}

}  // namespace nfgate::log

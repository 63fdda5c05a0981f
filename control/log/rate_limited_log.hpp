// Log lines whose number the outside world decides (a driver's messages about the frames it
// gets, HTTP clients of /metrics): at most `per_second` of them a second reach the log, the rest
// are counted, and the next line let through says how many were held back. Any thread may log;
// the budget is kept in atomics (no lock), so a logging worker thread never waits on another.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/log/log_line.hpp"

namespace nfgate::log {

// The decision alone, with the clock passed in (tests drive it).
class LineBudget {
public:
    explicit LineBudget(uint32_t per_second) : per_second_(per_second) {}

    // True when a line in second `now` may be written. When it may and lines were refused
    // before, `held_back` is their number (reported once), else 0.
    bool admit(uint64_t now, uint64_t& held_back);

private:
    const uint32_t per_second_;
    std::atomic<uint64_t> second_{0};
    std::atomic<uint32_t> used_{0};
    std::atomic<uint64_t> refused_{0};
};

class RateLimitedLog {
public:
    // `label` follows "nfgate: " on every line ("dpdk: ", "metrics: ").
    RateLimitedLog(std::string label, uint32_t per_second)
        : label_(std::move(label)), per_second_(per_second), budget_(per_second) {}

    // Each line of `text` is one log line (empty lines are dropped).
    void write(Level level, std::string_view text);

private:
    const std::string label_;
    const uint32_t per_second_;
    LineBudget budget_;
};

}  // namespace nfgate::log

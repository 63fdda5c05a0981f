// At most one apply per min-sync-period (kube-proxy's BoundedFrequencyRunner with its
// --min-sync-period): the first change after a quiet spell is applied at once, a burst of
// changes waits out the period and is applied together.
#pragma once

#include <chrono>
#include <optional>

namespace nfgate::kube {

class SyncPacer {
public:
    using Clock = std::chrono::steady_clock;
    explicit SyncPacer(std::chrono::milliseconds period) : period_(period) {}

    void set_period(std::chrono::milliseconds period) { period_ = period; }
    void changed() { dirty_ = true; }
    bool dirty() const { return dirty_; }
    // When the pending change may be applied: nothing pending, none.
    std::optional<Clock::time_point> due() const {
        if (!dirty_) return std::nullopt;
        return ever_applied_ ? applied_ + period_ : Clock::time_point{};
    }
    bool ready(Clock::time_point now) const {
        auto d = due();
        return d && now >= *d;
    }
    void applied(Clock::time_point now) {
        dirty_ = false;
        ever_applied_ = true;
        applied_ = now;
    }

private:
    std::chrono::milliseconds period_;
    bool dirty_ = false;
    // Not an optional: GCC 12 at -O2 with ASan reports a false -Wmaybe-uninitialized on one.
    bool ever_applied_ = false;
    Clock::time_point applied_{};
};

}  // namespace nfgate::kube

#include "control/daemon/syn_flood_guard.hpp"

namespace nfgate::daemon {

SynFloodGuard::Decision SynFloodGuard::change(bool on, std::string why) {
    Decision d{on, {}};
    if (on != on_) d.line = std::string(on ? "SYN proxy on: " : "SYN proxy off: ") + why;
    on_ = on;
    if (on) on_for_ = 0;
    return d;
}

FloodSample flood_sample(const fastpath::Counters& c) {
    return FloodSample{c.half_open_flows, c.early_dropped, c.reason(engine::Reason::syn_cookie_sent),
                       c.reason(engine::Reason::syn_proxy_opened)};
}

FloodSample flood_sample(const nft::FloodFigures& k) {
    return FloodSample{k.half_open, k.early_drop, k.syn_received, k.cookie_valid};
}

SynFloodGuard::Decision SynFloodGuard::fixed(SynProxyMode mode) {
    primed_ = false;
    const bool on = mode == SynProxyMode::on;
    return change(on, on ? "conntrack.synProxy is on" : "conntrack.synProxy is off");
}

SynFloodGuard::Decision SynFloodGuard::sample(const FloodSample& c, SynProxyMode mode, uint32_t threshold) {
    const uint64_t early = c.early_dropped;
    const uint64_t cookies = c.cookies_sent;
    const uint64_t opened = c.proxied_opened;
    const uint64_t early_delta = primed_ ? early - last_early_ : 0;
    const uint64_t cookie_delta = primed_ ? cookies - last_cookies_ : 0;
    const uint64_t opened_delta = primed_ ? opened - last_opened_ : 0;
    primed_ = true;
    last_early_ = early;
    last_cookies_ = cookies;
    last_opened_ = opened;
    const uint64_t unanswered = cookie_delta > opened_delta ? cookie_delta - opened_delta : 0;
    window_sum_ += unanswered - unanswered_[second_];
    unanswered_[second_] = unanswered;
    second_ = (second_ + 1) % kWindow;

    if (mode != SynProxyMode::automatic) return fixed(mode);
    if (!on_) {
        if (c.half_open_flows >= threshold)
            return change(true, std::to_string(c.half_open_flows) + " half-open TCP flows (conntrack.synProxyHalfOpen " +
                                    std::to_string(threshold) + ")");
        if (early_delta > 0)
            return change(true, "the flow table is full and gave up " + std::to_string(early_delta) +
                                    " unanswered flows in the last second");
        return Decision{false, {}};
    }
    ++on_for_;
    if (on_for_ >= kWindow && window_sum_ < threshold / 2 && c.half_open_flows < threshold / 2)
        return change(false, std::to_string(window_sum_) + " unanswered SYN cookies in the last " +
                                 std::to_string(kWindow) + " s");
    return Decision{true, {}};
}

}  // namespace nfgate::daemon

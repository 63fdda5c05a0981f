// When the fast path's SYN proxy is on (conntrack.synProxy, engine/syn_proxy.hpp). `on` and
// `off` are what they say; `auto` switches it on when a SYN flood shows (the last ageing sweep
// counted synProxyHalfOpen half-open TCP flows, or a full table gave up unanswered flows) and
// off once the cookies it sends go answered again: after at least a minute on, when fewer than
// half the threshold went unanswered in the last minute. Pure: fed counters once a second,
// returns the state and a line to log on a change, so it is unit-tested without a data path.
// Both data paths feed it: the fast path its counters, the kernel path conntrack's half-open
// entries and the kernel synproxy's statistics (nft/flood_figures.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "dataplane/counters.hpp"
#include "model/model.hpp"
#include "nft/flood_figures.hpp"

namespace nfgate::daemon {

// What the guard reads, from either data path: the half-open TCP flows now, and running totals.
struct FloodSample {
    uint64_t half_open_flows = 0;
    uint64_t early_dropped = 0;   // flows a full table gave up
    uint64_t cookies_sent = 0;    // SYNs answered with a cookie
    uint64_t proxied_opened = 0;  // connections opened by a returned cookie
};
FloodSample flood_sample(const fastpath::Counters& c);
// The kernel path: conntrack's half-open entries to frontends and early drops, the kernel
// synproxy's answered SYNs and valid cookies.
FloodSample flood_sample(const nft::FloodFigures& k);

class SynFloodGuard {
public:
    struct Decision {
        bool on = false;
        std::string line;  // non-empty when the state changes: why
    };

    // Once a second; `threshold` is Model::syn_proxy_threshold().
    Decision sample(const FloodSample& s, SynProxyMode mode, uint32_t threshold);
    // A fixed switch (on or off) needs no figures; once automatic again, the first sample
    // only primes the deltas.
    Decision fixed(SynProxyMode mode);
    Decision sample(const fastpath::Counters& c, SynProxyMode mode, uint32_t threshold) {
        return sample(flood_sample(c), mode, threshold);
    }

    static constexpr unsigned kWindow = 60;  // seconds of unanswered cookies remembered

private:
    Decision change(bool on, std::string why);

    bool on_ = false;
    bool primed_ = false;
    uint64_t last_early_ = 0, last_cookies_ = 0, last_opened_ = 0;
    std::array<uint64_t, kWindow> unanswered_{};  // per second: cookies sent - connections opened
    unsigned second_ = 0;
    uint64_t window_sum_ = 0;
    unsigned on_for_ = 0;
};

}  // namespace nfgate::daemon

// The per-source new-flow limit (conntrack.newFlowsPerSource): the second line against a flood
// from few sources, behind the SYN proxy (which handles spoofed ones). Each worker keeps one
// GCRA (generic cell rate algorithm: a "theoretical arrival time" per source) for the source
// addresses that open flows through it, in a direct-mapped table of fixed size: no allocation,
// one cache line touched per new flow, nothing on the established path.
//
// The gateway-wide rate and burst are shared out between the workers (RSS spreads one source's
// connections over them). A source whose slot another source took starts again with a full
// burst: a collision can only make the limit looser, never refuse a quiet source.
#pragma once

#include <array>
#include <cstdint>

namespace nfgate::engine {

struct SourceLimit {
    uint64_t interval_ns = 0;   // one new flow per interval per source on this worker; 0: off
    uint64_t tolerance_ns = 0;  // (burst - 1) intervals of credit

    bool on() const { return interval_ns != 0; }

    // `rate` new flows per second and `burst` for the gateway, `workers` sharing them.
    static SourceLimit per_worker(uint32_t rate, uint32_t burst, unsigned workers) {
        SourceLimit l;
        if (rate == 0) return l;
        const uint64_t w = workers == 0 ? 1 : workers;
        l.interval_ns = w * 1'000'000'000ull / rate;
        if (l.interval_ns == 0) l.interval_ns = 1;
        const uint64_t b = (burst + w - 1) / w;  // at least 1
        l.tolerance_ns = (b > 1 ? b - 1 : 0) * l.interval_ns;
        return l;
    }
};

class SourceLimiter {
public:
    static constexpr unsigned kSlots = 4096;

    // Whether `src` may open one more flow at `now_ns`; if so, the flow is charged.
    bool admit(uint32_t src, uint64_t now_ns, const SourceLimit& l) {
        Slot& s = slots_[(src * 0x9E3779B1u) >> (32 - kBits)];
        if (s.src != src || s.tat == 0) s = Slot{src, now_ns};
        const uint64_t tat = s.tat > now_ns ? s.tat : now_ns;
        if (tat - now_ns > l.tolerance_ns) return false;
        s.tat = tat + l.interval_ns;
        return true;
    }

private:
    static constexpr unsigned kBits = 12;
    static_assert(1u << kBits == kSlots);
    struct Slot {
        uint32_t src = 0;
        uint64_t tat = 0;  // 0: unused
    };
    std::array<Slot, kSlots> slots_{};
};

}  // namespace nfgate::engine

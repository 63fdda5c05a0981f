// rte_rdtsc() ticks -> monotonic nanoseconds, with the scale computed once: the engine's clock
// (flow ageing, affinity, ARP rate limits) costs one multiply per loop turn, no system call.
#pragma once

#include <cstdint>

#include <rte_cycles.h>

namespace nfgate::port {

class TscClock {
public:
    TscClock() : origin_(rte_rdtsc()) {
        // 32.32 fixed point nanoseconds per tick; exact enough for any TSC from 10 MHz up.
        ns_per_tick_q32_ = (uint64_t{1000000000} << 32) / rte_get_tsc_hz();
    }

    // Nanoseconds since the clock was made, for a tick count read on this machine.
    uint64_t ns(uint64_t tsc) const {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(tsc - origin_) * ns_per_tick_q32_) >> 32);
    }

private:
    uint64_t origin_;
    uint64_t ns_per_tick_q32_;
};

}  // namespace nfgate::port

// Per-worker counters. The burst keeps its counts in a local BurstCounters and adds them here
// once per burst; other threads (fastpath::Counters) read with relaxed loads. A single writer per
// WorkerStats makes load+store enough: no locked add per packet or per burst.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/engine/drop_reasons.hpp"

namespace nfgate::engine {

struct BurstCounters {
    uint32_t rx = 0;
    uint32_t forwarded_nat = 0;     // established or new flow, translated
    uint32_t forwarded_plain = 0;   // routed untouched
    uint32_t flows_created = 0;
    std::array<uint32_t, kReasonCount> reasons{};

    void count(Reason r) { ++reasons[static_cast<size_t>(r)]; }
};

class WorkerStats {
public:
    void add(const BurstCounters& b) {
        bump(rx_, b.rx);
        bump(forwarded_nat_, b.forwarded_nat);
        bump(forwarded_plain_, b.forwarded_plain);
        bump(flows_created_, b.flows_created);
        for (size_t i = 0; i < kReasonCount; ++i)
            if (b.reasons[i]) bump(reasons_[i], b.reasons[i]);
    }

    uint64_t rx() const { return rx_.load(std::memory_order_relaxed); }
    uint64_t forwarded_nat() const { return forwarded_nat_.load(std::memory_order_relaxed); }
    uint64_t forwarded_plain() const { return forwarded_plain_.load(std::memory_order_relaxed); }
    uint64_t flows_created() const { return flows_created_.load(std::memory_order_relaxed); }
    uint64_t reason(Reason r) const { return reasons_[static_cast<size_t>(r)].load(std::memory_order_relaxed); }

private:
    static void bump(std::atomic<uint64_t>& c, uint64_t v) {
        c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }

    std::atomic<uint64_t> rx_{0}, forwarded_nat_{0}, forwarded_plain_{0}, flows_created_{0};
    std::array<std::atomic<uint64_t>, kReasonCount> reasons_{};
};

}  // namespace nfgate::engine

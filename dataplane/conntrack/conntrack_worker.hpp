// Private to the flow table's implementation files: the per-worker state (free list, deferred-free
// queue, sweep cursor, counters) and small helpers they share.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/conntrack/conntrack_table.hpp"

namespace nfgate::ct {

struct alignas(64) ConntrackWorker {
    uint32_t first = 0;  // partition [first, first + count)
    uint32_t count = 0;
    uint32_t* free_stack = nullptr;
    uint32_t free_top = 0;
    uint32_t* deferred = nullptr;  // ring of `count` entry indexes waiting for a grace period
    uint64_t def_head = 0;         // monotonic positions; index = pos % count
    uint64_t def_tail = 0;
    uint64_t sealed_tail = 0;  // deferred[..sealed_tail) have a checkpoint
    // A checkpoint says: every deferred entry before `end` may be recycled once `token` is
    // reported by all readers. Tokens grow, so merging two checkpoints keeps the later token.
    struct Checkpoint {
        uint64_t end;
        uint64_t token;
    };
    static constexpr unsigned kCheckpoints = 64;
    Checkpoint cps[kCheckpoints];
    unsigned cp_head = 0;
    unsigned cp_count = 0;
    uint32_t cursor = 0;
    uint64_t sweep_half_open = 0;  // half-open TCP flows seen since the cursor last wrapped

    std::atomic<uint64_t> inserted{0}, exists{0}, clash{0}, full_entries{0}, full_buckets{0},
        busy{0}, invalid{0}, races_lost{0}, expired{0}, unlinked{0},
        recycled{0}, live{0}, early_dropped{0}, half_open{0};
};

// Written only by the owning worker, read by anyone: a plain increment of a relaxed atomic.
inline void bump(std::atomic<uint64_t>& c, int64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + static_cast<uint64_t>(by), std::memory_order_relaxed);
}

}  // namespace nfgate::ct

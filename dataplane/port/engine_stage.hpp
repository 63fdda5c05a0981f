// The production stage of the worker loop: the engine's burst function over the ServiceTable
// snapshot current at the start of the loop turn, and the engine's flow ageing slice.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "dataplane/engine/worker.hpp"
#include "dataplane/port/tsc_clock.hpp"
#include "dataplane/port/tx_io.hpp"

namespace nfgate::port {

class EngineStage {
public:
    EngineStage(engine::WorkerContext& ctx, const std::atomic<const engine::ServiceTable*>& services,
                const TscClock& clock)
        : ctx_(ctx), services_(services), clock_(clock) {}

    // Runs right after the quiescent report: the snapshot loaded here stays valid until the
    // next report, so every burst of this turn uses it without another atomic load.
    void begin_loop(uint64_t tsc) {
        now_ns_ = clock_.ns(tsc);
        table_ = services_.load(std::memory_order_acquire);
    }

    void burst(TxBufferIo& io, uint16_t port, std::span<rte_mbuf*> pkts, uint64_t) {
        engine::process_burst(ctx_, *table_, io, port, pkts, now_ns_);
    }

    void end_loop(TxBufferIo& io, uint64_t) {
        engine::worker_housekeeping(ctx_, now_ns_);
        engine::worker_tick(ctx_, *table_, io, now_ns_, pool_);
    }
    void set_pool(rte_mempool* pool) { pool_ = pool; }  // for the ARP probes worker 0 sends

private:
    engine::WorkerContext& ctx_;
    const std::atomic<const engine::ServiceTable*>& services_;
    const TscClock& clock_;
    const engine::ServiceTable* table_ = nullptr;
    rte_mempool* pool_ = nullptr;
    uint64_t now_ns_ = 0;
};

}  // namespace nfgate::port

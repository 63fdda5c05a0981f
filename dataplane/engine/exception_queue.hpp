// Frames for the gateway's own kernel (the exception path): traffic to the gateway's addresses
// the worker does not answer itself (TCP/UDP to a node address that is no NodePort, ICMP other
// than echo, ARP replies to the kernel's own requests). Per worker, a single-producer ring to the
// mover thread (dataplane/port/exception_path.hpp), which writes them to the port's kernel
// interface; no system call on the worker. A token bucket (kRatePps, kBurst) keeps a flood to
// the box from reaching the mover or the kernel: the excess is dropped and counted.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdint>

#include "dataplane/engine/drop_reasons.hpp"

namespace nfgate::engine {

class ExceptionQueue {
public:
    static constexpr uint64_t kRatePps = 20'000;  // per worker
    static constexpr uint64_t kBurst = 512;
    static constexpr uint64_t kCostNs = 1'000'000'000 / kRatePps;

    void attach(rte_ring* ring) { ring_ = ring; }
    bool attached() const { return ring_ != nullptr; }

    // Hands `m`, received on interface `port`, to the kernel; returns exception_to_kernel when
    // the ring took it (it no longer belongs to the caller), else the reason it must be dropped.
    Reason push(uint16_t port, rte_mbuf* m, uint64_t now_ns) {
        budget_ns_ = std::min(budget_ns_ + (now_ns - last_ns_), kBurst * kCostNs);
        last_ns_ = now_ns;
        if (budget_ns_ < kCostNs) return Reason::exception_rate_limited;
        m->port = port;  // the mover's interface index
        if (rte_ring_sp_enqueue(ring_, m) != 0) return Reason::exception_queue_full;
        budget_ns_ -= kCostNs;
        return Reason::exception_to_kernel;
    }

private:
    rte_ring* ring_ = nullptr;
    uint64_t budget_ns_ = kBurst * kCostNs;
    uint64_t last_ns_ = 0;
};

}  // namespace nfgate::engine

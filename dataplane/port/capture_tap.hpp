// The workers' side of packet capture. Disarmed, it costs a worker one relaxed load per loop turn
// and a bit test per burst (RX) or per sent packet on a register-held mask (TX). Armed, the worker
// copies matching frames into a small pool of its own and hands them to the control thread over
// a ring (many producers, one consumer); the original frame goes on untouched. A budget shared
// by the workers stops copying at the requested count. A full ring or pool loses the copy, never
// the packet, and is counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/capture.hpp"

namespace nfgate::port {

// Bits of CaptureTap::mask: RX of interface i is bit i, TX is bit 16 + i.
inline constexpr unsigned kCaptureTxShift = 16;
// Bytes kept of each frame (the pcap snap length): headers plus a little payload.
inline constexpr uint32_t kCaptureSnap = 256;

class CaptureTap {
public:
    CaptureTap() = default;
    ~CaptureTap();
    CaptureTap(const CaptureTap&) = delete;
    CaptureTap& operator=(const CaptureTap&) = delete;

    bool init(std::string& err);
    // Frees the ring, the pool and any queued copy (before EAL cleanup; the destructor calls it).
    void release();

    // ---- workers ----
    uint32_t mask() const { return mask_.load(std::memory_order_relaxed); }
    // Copies up to the remaining budget of `pkts`, stamped with the TSC `tsc`.
    void copy(uint16_t iface, bool tx, rte_mbuf* const* pkts, unsigned n, uint64_t tsc);

    // ---- the control thread ----
    bool arm(const fastpath::CaptureRequest& r, std::string& err);
    void disarm();
    // Hands every queued copy to `sink` and frees it; returns how many.
    unsigned drain(const std::function<void(const fastpath::CapturedFrame&)>& sink);
    fastpath::CaptureState state() const;

private:
    struct Stamp {  // kept in front of each copy's data
        uint64_t tsc;
        uint32_t wire_len;
        uint16_t iface;
        uint16_t tx;
    };

    std::atomic<uint32_t> mask_{0};
    std::atomic<int64_t> budget_{0};
    std::atomic<uint64_t> taken_{0};
    std::atomic<uint64_t> lost_{0};
    uint64_t wanted_ = 0;
    rte_ring* ring_ = nullptr;
    rte_mempool* pool_ = nullptr;
};

}  // namespace nfgate::port

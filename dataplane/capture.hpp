// Packet capture on the fast path as the control plane sees it: what to copy, and each copied
// frame as it is handed over. Plain data (no DPDK types), like counters.hpp.
#pragma once

#include <cstdint>
#include <span>

namespace nfgate::fastpath {

struct CaptureRequest {
    uint16_t iface = 0;  // index into the gateway file's interfaces
    bool rx = true;      // frames as they arrive, before any translation
    bool tx = true;      // frames as they leave, translated
    uint64_t count = 0;  // stop after this many (1..kMaxCaptureCount)
};

inline constexpr uint64_t kMaxCaptureCount = 1'000'000;

struct CapturedFrame {
    uint16_t iface = 0;
    bool tx = false;
    uint64_t ns = 0;  // the fast path's monotonic clock (TSC) when the worker copied it
    uint32_t wire_len = 0;
    std::span<const uint8_t> bytes;  // the first bytes of the frame (all of it up to the snap length)
};

struct CaptureState {
    bool armed = false;
    uint64_t wanted = 0;    // the request's count
    uint64_t taken = 0;     // copies made by the workers so far
    uint64_t lost = 0;      // copies the hand-over could not hold (ring or copy pool full)
    uint64_t now_ns = 0;    // the same clock as CapturedFrame::ns, now (to place frames in wall time)
};

}  // namespace nfgate::fastpath

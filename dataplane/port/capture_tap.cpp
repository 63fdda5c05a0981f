#include "dataplane/port/capture_tap.hpp"

#include <algorithm>

#include <rte_cycles.h>
#include <rte_errno.h>

namespace nfgate::port {

namespace {

// The hand-over holds what the control thread drains every few milliseconds while armed.
constexpr unsigned kRingSize = 4096;
constexpr unsigned kPoolSize = kRingSize + 256;
constexpr uint16_t kCopyRoom = static_cast<uint16_t>(kCaptureSnap + RTE_PKTMBUF_HEADROOM);

uint64_t tsc_to_ns(uint64_t tsc) {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(tsc) * 1'000'000'000u / rte_get_tsc_hz());
}

}  // namespace

CaptureTap::~CaptureTap() { release(); }

void CaptureTap::release() {
    mask_.store(0, std::memory_order_relaxed);
    if (ring_ != nullptr) {
        void* m;
        while (rte_ring_dequeue(ring_, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(ring_);
        ring_ = nullptr;
    }
    if (pool_ != nullptr) rte_mempool_free(pool_);
    pool_ = nullptr;
}

bool CaptureTap::init(std::string& err) {
    ring_ = rte_ring_create("nfgate_capture", kRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
    pool_ = rte_pktmbuf_pool_create("nfgate_capture", kPoolSize, 0, 0, kCopyRoom, SOCKET_ID_ANY);
    if (ring_ == nullptr || pool_ == nullptr) {
        err = std::string("capture: cannot create its ring and copy pool: ") + rte_strerror(rte_errno) +
              " (give EAL more memory: -m)";
        return false;
    }
    return true;
}

void CaptureTap::copy(uint16_t iface, bool tx, rte_mbuf* const* pkts, unsigned n, uint64_t tsc) {
    for (unsigned i = 0; i < n; ++i) {
        // The budget is shared by every worker: the last copy wanted takes it to zero.
        const int64_t left = budget_.fetch_sub(1, std::memory_order_relaxed);
        if (left <= 0) {
            mask_.store(0, std::memory_order_relaxed);
            return;
        }
        if (left == 1) mask_.store(0, std::memory_order_relaxed);  // this is the last one wanted
        const rte_mbuf* m = pkts[i];
        rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, kCaptureSnap);
        Stamp* st = c != nullptr ? reinterpret_cast<Stamp*>(rte_pktmbuf_prepend(c, sizeof(Stamp))) : nullptr;
        if (st == nullptr) {
            if (c != nullptr) rte_pktmbuf_free(c);
            lost_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        *st = Stamp{tsc, rte_pktmbuf_pkt_len(m), iface, static_cast<uint16_t>(tx)};
        if (rte_ring_mp_enqueue(ring_, c) != 0) {
            rte_pktmbuf_free(c);
            lost_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        taken_.fetch_add(1, std::memory_order_relaxed);
    }
}

bool CaptureTap::arm(const fastpath::CaptureRequest& r, std::string& err) {
    if (mask() != 0) {
        err = "a capture is already running";
        return false;
    }
    if (r.count == 0 || r.count > fastpath::kMaxCaptureCount || (!r.rx && !r.tx) || r.iface >= kCaptureTxShift) {
        err = "capture: want 1-" + std::to_string(fastpath::kMaxCaptureCount) + " packets, rx and/or tx";
        return false;
    }
    drain([](const fastpath::CapturedFrame&) {});  // leftovers of an earlier capture
    wanted_ = r.count;
    taken_.store(0, std::memory_order_relaxed);
    lost_.store(0, std::memory_order_relaxed);
    budget_.store(static_cast<int64_t>(r.count), std::memory_order_relaxed);
    const uint32_t bit = 1u << r.iface;
    mask_.store((r.rx ? bit : 0) | (r.tx ? bit << kCaptureTxShift : 0), std::memory_order_release);
    return true;
}

void CaptureTap::disarm() {
    mask_.store(0, std::memory_order_relaxed);
    budget_.store(0, std::memory_order_relaxed);
}

unsigned CaptureTap::drain(const std::function<void(const fastpath::CapturedFrame&)>& sink) {
    unsigned n = 0;
    void* batch[64];
    unsigned got;
    while ((got = rte_ring_sc_dequeue_burst(ring_, batch, 64, nullptr)) != 0) {
        for (unsigned i = 0; i < got; ++i) {
            auto* c = static_cast<rte_mbuf*>(batch[i]);
            // Copies fit one segment: kCaptureSnap bytes in a pool of that data room.
            const auto* st = rte_pktmbuf_mtod(c, const Stamp*);
            const auto* data = reinterpret_cast<const uint8_t*>(st + 1);
            const uint32_t len = std::min<uint32_t>(rte_pktmbuf_data_len(c) - sizeof(Stamp), kCaptureSnap);
            sink(fastpath::CapturedFrame{st->iface, st->tx != 0, tsc_to_ns(st->tsc), st->wire_len, {data, len}});
            rte_pktmbuf_free(c);
            ++n;
        }
    }
    return n;
}

fastpath::CaptureState CaptureTap::state() const {
    return fastpath::CaptureState{mask() != 0, wanted_, taken_.load(std::memory_order_relaxed),
                                  lost_.load(std::memory_order_relaxed), tsc_to_ns(rte_rdtsc())};
}

}  // namespace nfgate::port

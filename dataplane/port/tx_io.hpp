// The production packet I/O of a worker: packets the burst function sends are gathered per
// port in an rte_eth_dev_tx_buffer on this worker's TX queue and go out when a buffer fills or
// when the loop drains them (TSC timer or idle poll, the l3fwd scheme). Ports are addressed by
// interface index (the order of the gateway file's `interfaces`).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/port/capture_tap.hpp"

namespace nfgate::port {

inline constexpr unsigned kMaxPorts = 8;
inline constexpr unsigned kBurstSize = 32;

// A counter one worker writes and any core may read: relaxed load + store, no locked add,
// because only its owner ever writes it.
class OwnedCounter {
public:
    void set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }
    uint64_t get() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> v_{0};
};

// What a worker publishes once per loop, for FastPath::counters().
struct alignas(64) WorkerIoStats {
    std::array<OwnedCounter, kMaxPorts> rx_packets;
    std::array<OwnedCounter, kMaxPorts> tx_packets;
    std::array<OwnedCounter, kMaxPorts> tx_ring_full;  // refused by the driver: TX ring stayed full
    OwnedCounter freed;                                // dropped by the burst function
    OwnedCounter loop_cycles;                          // TSC cycles in the loop since launch
    OwnedCounter busy_cycles;                          // of those, in turns that had packets
};

class TxBufferIo {
public:
    TxBufferIo() = default;
    TxBufferIo(const TxBufferIo&) = delete;
    TxBufferIo& operator=(const TxBufferIo&) = delete;

    // `buffers[i]` must have room for kBurstSize packets (RTE_ETH_TX_BUFFER_SIZE) and outlive
    // this Io.
    void bind(unsigned nb_ports, const uint16_t* port_ids, uint16_t queue,
              rte_eth_dev_tx_buffer* const* buffers) {
        nb_ports_ = nb_ports;
        queue_ = queue;
        for (unsigned i = 0; i < nb_ports; ++i) {
            port_ids_[i] = port_ids[i];
            buffers_[i] = buffers[i];
            rte_eth_tx_buffer_init(buffers_[i], kBurstSize);
            rte_eth_tx_buffer_set_err_callback(buffers_[i], rte_eth_tx_buffer_count_callback,
                                               &tx_ring_full_[i]);
        }
    }

    void tx(uint16_t port, rte_mbuf* m) {
        // Copied before the buffer may send (and free) it; the mask is a register-held word.
        if (capture_tx_ & (1u << port)) [[unlikely]]
            capture_->copy(port, true, &m, 1, capture_tsc_);
        tx_packets_[port] += rte_eth_tx_buffer(port_ids_[port], queue_, buffers_[port], m);
    }

    // Once per loop turn: which interfaces' sent frames the capture wants (mask bits 0..15).
    void set_capture(CaptureTap* tap, uint32_t tx_mask, uint64_t tsc) {
        capture_ = tap;
        capture_tx_ = tx_mask;
        capture_tsc_ = tsc;
    }

    void drop(rte_mbuf* m) {
        ++freed_;
        rte_pktmbuf_free(m);
    }

    void flush() {
        for (unsigned i = 0; i < nb_ports_; ++i)
            tx_packets_[i] += rte_eth_tx_buffer_flush(port_ids_[i], queue_, buffers_[i]);
    }

    void publish(WorkerIoStats& out) const {
        for (unsigned i = 0; i < nb_ports_; ++i) {
            out.tx_packets[i].set(tx_packets_[i]);
            out.tx_ring_full[i].set(tx_ring_full_[i]);
        }
        out.freed.set(freed_);
    }

    unsigned nb_ports() const { return nb_ports_; }

private:
    unsigned nb_ports_ = 0;
    uint16_t queue_ = 0;
    std::array<uint16_t, kMaxPorts> port_ids_{};
    std::array<rte_eth_dev_tx_buffer*, kMaxPorts> buffers_{};
    std::array<uint64_t, kMaxPorts> tx_packets_{};
    std::array<uint64_t, kMaxPorts> tx_ring_full_{};
    uint64_t freed_ = 0;
    CaptureTap* capture_ = nullptr;
    uint32_t capture_tx_ = 0;
    uint64_t capture_tsc_ = 0;
};

}  // namespace nfgate::port

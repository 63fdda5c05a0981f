// The worker lcore loop: poll this worker's RX queue on every port, hand each burst to the
// burst stage, drain TX buffers, report an RCU quiescent state, give housekeeping its slice.
// The stage is a template parameter so the loop that ships is the loop the tests run.
//
// A Stage provides:
//   void begin_loop(uint64_t tsc);   // after the quiescent report: pick up the current snapshot
//   void burst(TxBufferIo& io, uint16_t port_index, std::span<rte_mbuf*> pkts, uint64_t tsc);
//   void end_loop(TxBufferIo& io, uint64_t tsc);  // bounded housekeeping (conntrack ageing slice,
//                                                 // parked packets, neighbour probes)
//
// Housekeeping runs on every idle turn and, under load, once per drain period (100 us) with the
// TX flush: an ageing slice per turn would cost a fifth of a loaded worker's cycles, while one
// per 100 us still sweeps a million-flow partition several times a second, far inside the
// shortest flow timeout.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/port/tx_io.hpp"

namespace nfgate::port {

// A packet waits at most this long in a TX buffer while traffic keeps the loop busy (the value
// l3fwd uses); an idle poll sends at once. Also the housekeeping period under load.
inline constexpr uint64_t kDrainMicroseconds = 100;

struct WorkerPlan {
    unsigned index = 0;  // worker number: RCU reader id and the queue it owns on every port
    unsigned nb_ports = 0;
    std::array<uint16_t, kMaxPorts> port_ids{};
    std::array<rte_eth_dev_tx_buffer*, kMaxPorts> tx_buffers{};  // RTE_ETH_TX_BUFFER_SIZE(kBurstSize)
    rte_rcu_qsbr* qsv = nullptr;
    const std::atomic<bool>* stop = nullptr;
    WorkerIoStats* stats = nullptr;
    uint64_t drain_tsc = 0;  // longest a buffered packet waits while traffic keeps arriving
    // Frames the control thread wants sent (gratuitous ARP): it may not touch a TX queue a
    // worker owns, so it hands them over here; mbuf->port holds the interface index.
    rte_ring* control_tx = nullptr;
    CaptureTap* capture = nullptr;  // packet capture hand-over; nullptr: none (tests)
};

template <class Stage>
void run_worker_loop(const WorkerPlan& plan, Stage& stage) {
    const uint16_t queue = static_cast<uint16_t>(plan.index);
    TxBufferIo io;
    io.bind(plan.nb_ports, plan.port_ids.data(), queue, plan.tx_buffers.data());
    std::array<uint64_t, kMaxPorts> rx_packets{};
    rte_mbuf* pkts[kBurstSize];

    rte_rcu_qsbr_thread_register(plan.qsv, plan.index);
    rte_rcu_qsbr_thread_online(plan.qsv, plan.index);
    const uint64_t launched = rte_rdtsc();
    uint64_t last_drain = launched;
    uint64_t busy_cycles = 0;
    while (!plan.stop->load(std::memory_order_relaxed)) {
        rte_rcu_qsbr_quiescent(plan.qsv, plan.index);
        const uint64_t now = rte_rdtsc();
        stage.begin_loop(now);
        const uint32_t capture = plan.capture != nullptr ? plan.capture->mask() : 0;
        io.set_capture(plan.capture, capture >> kCaptureTxShift, now);
        uint16_t received = 0;
        for (unsigned p = 0; p < plan.nb_ports; ++p) {
            const uint16_t n = rte_eth_rx_burst(plan.port_ids[p], queue, pkts, kBurstSize);
            if (n == 0) continue;
            received += n;
            rx_packets[p] += n;
            if (capture & (1u << p)) [[unlikely]]
                plan.capture->copy(static_cast<uint16_t>(p), false, pkts, n, now);
            stage.burst(io, static_cast<uint16_t>(p), std::span<rte_mbuf*>(pkts, n), now);
        }
        if (plan.control_tx != nullptr) {
            rte_mbuf* from_control[8];
            const unsigned c = rte_ring_sc_dequeue_burst(plan.control_tx, reinterpret_cast<void**>(from_control), 8,
                                                         nullptr);
            for (unsigned i = 0; i < c; ++i) io.tx(from_control[i]->port, from_control[i]);
        }
        // Batching only pays while packets keep coming: an idle poll sends what is buffered.
        if (received == 0 || now - last_drain > plan.drain_tsc) {
            stage.end_loop(io, now);  // may send too (parked packets, neighbour probes)
            io.flush();
            last_drain = now;
        }
        for (unsigned p = 0; p < plan.nb_ports; ++p) plan.stats->rx_packets[p].set(rx_packets[p]);
        io.publish(*plan.stats);
        // Busy ratio: cycles of turns that had packets over all cycles (one TSC read per turn).
        const uint64_t end = rte_rdtsc();
        if (received != 0) busy_cycles += end - now;
        plan.stats->busy_cycles.set(busy_cycles);
        plan.stats->loop_cycles.set(end - launched);
    }
    io.flush();
    io.publish(*plan.stats);
    rte_rcu_qsbr_thread_offline(plan.qsv, plan.index);
    rte_rcu_qsbr_thread_unregister(plan.qsv, plan.index);
}

}  // namespace nfgate::port

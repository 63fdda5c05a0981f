// The fast path's counters as one plain value: what the daemon prints on SIGUSR1 and at stop,
// what its exhaustion log watches, and what a control API or /metrics exposes. No DPDK types,
// so the control plane reads it without linking the fast path.
//
// FastPath::counters() fills it with relaxed loads of counters that each worker alone writes:
// no lock, and the workers never wait for a reader. Each value is one the worker published
// (once per burst or loop turn); values of one snapshot are not taken at a single instant.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/engine/drop_reasons.hpp"

namespace nfgate::fastpath {

// Indexed by engine::Reason: one count per drop/exception reason.
using ReasonCounts = std::array<uint64_t, engine::kReasonCount>;

// One interface of the gateway file, summed over the workers (each polls its own queue).
// Bytes are not kept: the workers count packets only, and a byte count would add a read of
// each packet's length to the forwarding loop.
struct PortCounters {
    std::string name;           // the interface's `name` in the gateway file
    uint64_t rx_packets = 0;    // taken from the port's RX queues
    uint64_t tx_packets = 0;    // accepted by the driver for transmit
    uint64_t tx_ring_full = 0;  // refused by the driver (TX ring stayed full) and freed
};

// One worker lcore.
struct WorkerCounters {
    uint64_t rx_packets = 0;       // taken from its queue of every port
    uint64_t tx_packets = 0;       // accepted by the driver on its queue of every port
    uint64_t forwarded_nat = 0;    // translated (established or new flow)
    uint64_t forwarded_plain = 0;  // routed untouched
    uint64_t flows_created = 0;
    uint64_t loop_cycles = 0;      // TSC cycles the poll loop has run
    uint64_t busy_cycles = 0;      // of those, in loop turns that had packets
    double snat_fill = 0;          // its fullest SNAT port slice: ports in use / slice size
    ReasonCounts reasons{};

    uint64_t reason(engine::Reason r) const { return reasons[static_cast<size_t>(r)]; }

    WorkerCounters& operator+=(const WorkerCounters& o) {
        rx_packets += o.rx_packets;
        tx_packets += o.tx_packets;
        forwarded_nat += o.forwarded_nat;
        forwarded_plain += o.forwarded_plain;
        flows_created += o.flows_created;
        loop_cycles += o.loop_cycles;
        busy_cycles += o.busy_cycles;
        for (size_t i = 0; i < reasons.size(); ++i) reasons[i] += o.reasons[i];
        return *this;
    }
};

struct Counters {
    std::vector<PortCounters> ports;      // gateway file order
    std::vector<WorkerCounters> workers;  // worker index order
    uint64_t flows_in_use = 0;            // entries not free, the IPv4 and the IPv6 table together
    uint64_t flow_capacity = 0;           // conntrack.maxFlows, preallocated at start (per family)
    uint64_t half_open_flows = 0;         // TCP flows in SYN_SENT/SYN_RECV at the last ageing sweep
    uint64_t early_dropped = 0;           // unanswered flows given up to make room in a full table
    bool syn_proxy = false;               // SYNs to Service frontends answered with cookies now

    // Every worker summed: the fast path as a whole.
    WorkerCounters total() const {
        WorkerCounters sum;
        for (const WorkerCounters& w : workers) sum += w;
        return sum;
    }

    uint64_t reason(engine::Reason r) const {
        uint64_t n = 0;
        for (const WorkerCounters& w : workers) n += w.reason(r);
        return n;
    }
};

}  // namespace nfgate::fastpath

// The worker API: what a DPDK worker lcore (dataplane/port) calls for every received burst.
//
// Contract for the caller (the port part):
//  - One EngineShared per fast path (EngineShared::create(EngineConfig::from_model(m))), shared
//    by every worker: flow table, SNAT port pools, neighbour table, affinity table. It must
//    outlive every WorkerContext. Pass the fast path's QSBR variable in EngineConfig::qsbr
//    (reader id = worker index): the flow table frees entries only after a grace period.
//  - One WorkerContext per worker lcore (worker index 0..workers-1), used only by that lcore.
//  - The ServiceTable is passed per burst: the caller reads its current snapshot after its
//    quiescent report and holds it until the next one; the engine keeps no pointer to it (nor
//    to any flow entry) once process_burst returns.
//  - Ports are interface indices in Model::interfaces order, not DPDK port ids.
//  - `now_ns` is a monotonic clock in nanoseconds (rte_rdtsc() scaled once per loop): it drives
//    flow ageing (second resolution), affinity timeouts and ARP rate limiting. Tests inject it.
//  - Every mbuf in `pkts` is consumed: each leaves through exactly one io.tx() or io.drop(), or
//    waits in the worker's NeighbourWait for its next hop's MAC (a later burst or worker_tick()
//    sends or drops it). Answers (ARP replies, echo replies, ICMP errors, TCP resets) are built
//    in place in the received mbuf; only the ARP request for a packet that waits is allocated
//    (from that packet's pool).
//  - The Io template parameter is the packet sink:
//        void tx(uint16_t port, rte_mbuf* m);  // queue for transmit on `port`; takes ownership
//        void drop(rte_mbuf* m);               // free; takes ownership
//    Production buffers tx per port (port::TxBufferIo) and flushes after the burst; tests record.
//  - worker_housekeeping() ages a bounded slice of this worker's flows; call it once per loop
//    turn, with worker_tick() (parked packets, neighbour ageing on worker 0). worker_quiescent() is only for an EngineConfig without a qsbr (tests, benchmarks).
//  - Gratuitous ARP at port start: build_garp() from dataplane/engine/arp.hpp.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/engine/burst.hpp"  // process_burst<Io>(ctx, st, io, in_port, pkts, now_ns)
#include "dataplane/engine/engine_state.hpp"
#include "dataplane/engine/packet_io.hpp"
#include "dataplane/engine/service_table.hpp"
#include "dataplane/engine/worker_tick.hpp"  // worker_tick<Io>(ctx, st, io, now_ns, pool)

namespace nfgate::engine {

// Ages up to `budget` of this worker's flows; returns how many were unlinked.
unsigned worker_housekeeping(WorkerContext& ctx, uint64_t now_ns, unsigned budget = 256);

void worker_quiescent(WorkerContext& ctx);

}  // namespace nfgate::engine

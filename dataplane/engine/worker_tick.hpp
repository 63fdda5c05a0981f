// The worker's timed chores that send packets, run from the worker loop's housekeeping turn
// (idle polls, and once per drain period under load): parked packets whose next hop became
// known or whose wait ran out, and, on worker 0 once a second, the neighbour tables' ageing with
// their probes (ARP requests; unicast neighbour solicitations, sent by the port the route to
// the neighbour takes). Worker 0 is the tables' only remover, so removal stays single-threaded.
#pragma once

#include <cstdint>

#include "dataplane/engine/arp.hpp"
#include "dataplane/engine/burst.hpp"
#include "dataplane/engine/engine_state.hpp"
#include "dataplane/engine/ndp.hpp"
#include "dataplane/engine/packet_io.hpp"
#include "dataplane/engine/service_table.hpp"

namespace nfgate::engine {

template <PacketIo Io>
void probe_neighbours6(const std::vector<NeighbourProbe6>& probes, const ServiceTable& st, Io& io, rte_mempool* pool) {
    for (const NeighbourProbe6& p : probes) {
        NextHop6 nh;
        const Ip6* src = st.v6().route(p.ip, nh) ? st.v6().address_of(nh.port) : nullptr;
        if (src == nullptr || pool == nullptr) continue;
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) break;
        if (!build_probe_ns(m, NdIface{st.ifaces()[nh.port].mac}, *src, p.ip, p.mac)) {
            rte_pktmbuf_free(m);
            continue;
        }
        io.tx(nh.port, m);
    }
}

template <PacketIo Io>
void worker_tick(WorkerContext& ctx, const ServiceTable& st, Io& io, uint64_t now_ns, rte_mempool* pool) {
    BurstCounters bc;
    if (any_waiting(ctx)) release_waiting(ctx, st, io, now_ns, bc);
    const uint32_t now_s = static_cast<uint32_t>(now_ns / 1'000'000'000);
    if (ctx.id == 0 && now_s != ctx.neighbours_aged_s) {
        ctx.neighbours_aged_s = now_s;
        for (const NeighbourProbe& p : ctx.shared.neighbours().age(now_s)) {
            if (p.port >= st.ifaces().size() || pool == nullptr) continue;
            rte_mbuf* m = rte_pktmbuf_alloc(pool);
            if (m == nullptr) break;
            build_arp_request(m, st.ifaces()[p.port], p.ip);
            io.tx(p.port, m);
        }
        if (ctx.v6 != nullptr) probe_neighbours6(ctx.shared.neighbours6().age(now_s), st, io, pool);
    }
    ctx.stats.add(bc);
}

}  // namespace nfgate::engine

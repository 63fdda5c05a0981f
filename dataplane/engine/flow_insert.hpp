// Making a flow on a miss, for either family's table: a SNAT port from the egress address's
// pool first when the flow is masqueraded, then the insert under both keys. A clashing reply
// tuple means the port is taken for that peer by another flow: a few more ports are tried
// before the packet is refused.
#pragma once

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/snat_ports.hpp"
#include "dataplane/engine/slow_path.hpp"

namespace nfgate::engine {

inline constexpr unsigned kSnatAttempts = 8;

// Inserts `fi` into `flows`, taking a SNAT port from `snat`'s `pool` first when pool >= 0.
// nullptr with `why` set when the flow cannot be created; `fresh` false when another packet of
// the burst (or another worker) created it first.
template <class Table>
typename Table::Entry* insert_flow_into(SlowCtx& c, Table& flows, ct::SnatPorts& snat, typename Table::Init& fi,
                                        int pool, Reason& why, bool* fresh = nullptr) {
    const uint8_t proto = fi.orig.proto;
    for (unsigned attempt = 0; attempt < kSnatAttempts; ++attempt) {
        uint16_t port = 0;
        if (pool >= 0) {
            if (!snat.acquire(c.worker.id, static_cast<uint16_t>(pool), proto, port)) {
                why = Reason::snat_ports_exhausted;
                return nullptr;
            }
            fi.reply.dst_port = port;
            // An echo identifier stands for both ports.
            if (proto == net::kProtoIcmp || proto == net::kProtoIcmpv6) fi.reply.src_port = port;
            fi.snat_pool = static_cast<uint16_t>(pool);
            fi.snat_port = port;
        }
        const typename Table::Result r = flows.insert(c.worker.id, fi, c.now_s);
        if (fresh != nullptr) *fresh = r.status == ct::InsertStatus::inserted;
        if (r.status == ct::InsertStatus::inserted) {
            ++c.counters.flows_created;
            return r.entry;
        }
        if (pool >= 0) snat.release(c.worker.id, static_cast<uint16_t>(pool), proto, port);
        switch (r.status) {
            case ct::InsertStatus::exists: return r.entry;
            case ct::InsertStatus::clash:
                if (pool >= 0) continue;
                why = Reason::flow_clash;
                return nullptr;
            case ct::InsertStatus::full: why = Reason::flow_table_full; return nullptr;
            case ct::InsertStatus::busy: why = Reason::flow_insert_busy; return nullptr;
            default: why = Reason::tcp_invalid_no_syn; return nullptr;
        }
    }
    why = Reason::flow_clash;
    return nullptr;
}

}  // namespace nfgate::engine

#include "dataplane/conntrack/conntrack_walk.hpp"

#include <atomic>

namespace nfgate::ct {

namespace {

bool same_keys(const FlowEntry& e, const FlowSnapshot& s) { return e.key[0] == s.key[0] && e.key[1] == s.key[1]; }

}  // namespace

void walk_flows(const ConntrackTable& table, const std::function<bool(const FlowSnapshot&)>& visit) {
    const FlowEntry* entries = table.entries_begin();
    for (uint32_t i = 0; i < table.capacity(); ++i) {
        const FlowEntry& e = entries[i];
        if (!e.linked()) continue;  // acquire: the plain fields below were written before
        FlowSnapshot s;
        s.key[0] = e.key[0];
        s.key[1] = e.key[1];
        s.created = e.created;
        s.tag = e.tag;
        s.snat_pool = e.snat_pool;
        s.snat_port = e.snat_port;
        s.state = e.state.load(std::memory_order_relaxed);
        s.flags = e.flags.load(std::memory_order_relaxed);
        s.last_seen = e.last_seen.load(std::memory_order_relaxed);
        s.timeout = table.timeout_of(e);
        // The copies above must be done before the second look at the entry: x86 keeps loads in
        // order (the table is x86-only: CRC32C, SSE prefetches), so only the compiler needs
        // holding back. (A thread fence would say the same, but ThreadSanitizer rejects it.)
        std::atomic_signal_fence(std::memory_order_acq_rel);
        if (!e.linked() || e.created != s.created || !same_keys(e, s)) continue;
        if (!visit(s)) return;
    }
}

}  // namespace nfgate::ct

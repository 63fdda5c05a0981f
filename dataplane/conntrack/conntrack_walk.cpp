#include "dataplane/conntrack/conntrack_walk.hpp"

#include <atomic>

namespace nfgate::ct {

namespace {

template <class E>
bool same_keys(const E& e, const BasicFlowSnapshot<typename E::Key>& s) {
    return e.key[0] == s.key[0] && e.key[1] == s.key[1];
}

}  // namespace

template <class E>
void walk_flows(const FlowTable<E>& table,
                const std::function<bool(const BasicFlowSnapshot<std::type_identity_t<typename E::Key>>&)>& visit) {
    const E* entries = table.entries_begin();
    for (uint32_t i = 0; i < table.capacity(); ++i) {
        const E& e = entries[i];
        if (!e.linked()) continue;  // acquire: the plain fields below were written before
        BasicFlowSnapshot<typename E::Key> s;
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

template void walk_flows(const ConntrackTable&, const std::function<bool(const FlowSnapshot&)>&);
template void walk_flows(const ConntrackTable6&, const std::function<bool(const FlowSnapshot6&)>&);

}  // namespace nfgate::ct

// Listing the flow table from a thread that is not a worker (the control API's `flows`): no lock,
// no grace period, forwarding never waits. Entries are preallocated and only ever reused, so a
// reader can always touch them; it copies each one and keeps the copy only when the entry was
// linked, with the same creation time and keys, before and after the copy. An entry reused in
// that instant is skipped: a listing may miss a flow born or gone while it ran, never show a
// torn one.
#pragma once

#include <cstdint>
#include <functional>
#include <type_traits>

#include "dataplane/conntrack/conntrack_table.hpp"

namespace nfgate::ct {

template <class K>
struct BasicFlowSnapshot {
    K key[2];  // orig, reply (network order, as in the entry)
    uint8_t state = 0;
    uint8_t flags = 0;
    uint32_t last_seen = 0;
    uint32_t created = 0;
    uint16_t snat_pool = kNoSnat;
    uint16_t snat_port = 0;
    uint32_t tag = 0;
    uint32_t timeout = 0;  // seconds of idleness the flow is allowed in its state
};

using FlowSnapshot = BasicFlowSnapshot<FlowKey>;
using FlowSnapshot6 = BasicFlowSnapshot<FlowKey6>;

// Calls `visit` for each linked flow until it returns false. Instantiated for ConntrackTable
// and ConntrackTable6.
template <class E>
void walk_flows(const FlowTable<E>& table,
                const std::function<bool(const BasicFlowSnapshot<std::type_identity_t<typename E::Key>>&)>& visit);

}  // namespace nfgate::ct

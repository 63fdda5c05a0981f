// Listing the flow table from a thread that is not a worker (the control API's `flows`): no lock,
// no grace period, forwarding never waits. Entries are preallocated and only ever reused, so a
// reader can always touch them; it copies each one and keeps the copy only when the entry was
// linked, with the same creation time and keys, before and after the copy. An entry reused in
// that instant is skipped: a listing may miss a flow born or gone while it ran, never show a
// torn one.
#pragma once

#include <cstdint>
#include <functional>

#include "dataplane/conntrack/conntrack_table.hpp"

namespace nfgate::ct {

struct FlowSnapshot {
    FlowKey key[2];  // orig, reply (network order, as in FlowEntry)
    uint8_t state = 0;
    uint8_t flags = 0;
    uint32_t last_seen = 0;
    uint32_t created = 0;
    uint16_t snat_pool = kNoSnat;
    uint16_t snat_port = 0;
    uint32_t tag = 0;
    uint32_t timeout = 0;  // seconds of idleness the flow is allowed in its state
};

// Calls `visit` for each linked flow until it returns false.
void walk_flows(const ConntrackTable& table, const std::function<bool(const FlowSnapshot&)>& visit);

}  // namespace nfgate::ct

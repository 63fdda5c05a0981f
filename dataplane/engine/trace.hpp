// `nfgatectl trace` on the fast path: the decisions a flow-table miss would take for one
// synthetic packet, taken by the same code the workers run (miss_decision.hpp; for an IPv6
// packet miss_decision6.hpp over the IPv6 half) against the
// current ServiceTable and affinity table. Reads only: no flow, no SNAT port, no affinity entry
// is created, so a trace never changes what the workers do next.
#pragma once

#include <cstdint>

#include "dataplane/engine/affinity_table.hpp"
#include "dataplane/engine/service_table.hpp"
#include "model/trace_result.hpp"

namespace nfgate::engine {

TraceResult trace_new_flow(const ServiceTable& st, const AffinityTable& aff, const TracePacket& p, uint32_t now_s);

}  // namespace nfgate::engine

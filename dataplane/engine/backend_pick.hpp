// Backend choice for a new flow: Maglev over the 5-tuple hash (lb/maglev.hpp), so every
// gateway given the same endpoints picks the same backend and an endpoint change moves few
// flows.
#pragma once

#include <string>

#include "dataplane/engine/service_table.hpp"

namespace nfgate::engine {

// Fills `e.maglev` from `e.backends` (sorted, distinct). False with `err` set when there are
// more backends than a Maglev table indexes.
bool build_backend_picker(ServicePortEntry& e, std::string& err);

// Index into e.backends for `flow_hash`; e.backends must not be empty.
inline uint16_t pick_backend(const ServicePortEntry& e, uint32_t flow_hash) { return e.maglev.pick(flow_hash); }

}  // namespace nfgate::engine

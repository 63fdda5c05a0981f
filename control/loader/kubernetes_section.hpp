// The gateway file's `kubernetes` section: where the API server is, how often to apply.
#pragma once

#include "control/loader/field_reader.hpp"

namespace nfgate::loader {

// Reads `n` into m.kubernetes: exactly one of `kubeconfig` (a path, relative to the gateway
// file) and `inCluster: true`; `minSyncPeriod` as a duration ("1s", "500ms", "2m").
void read_kubernetes(Reporter& r, YNode n, const FieldPath& f, Model& m);

// "1s", "250ms", "1m30s" (Go's time.ParseDuration units h, m, s, ms) -> milliseconds.
bool parse_duration_ms(std::string_view text, uint64_t& ms);

}  // namespace nfgate::loader

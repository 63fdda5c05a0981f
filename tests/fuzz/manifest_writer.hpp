// The Services of a Model written back as Kubernetes manifests (one Service and one
// EndpointSlice per Service port and endpoint port), in YAML or kubectl-style JSON. The loader
// fuzzer reads them again and wants the same Services: a valid input round-trips.
#pragma once

#include <string>

#include "model/model.hpp"

namespace nfgate::fuzz {

enum class ManifestFormat { yaml, json };

// `zone_here` / `zone_other` are the zone names written for ZoneHint::here / ZoneHint::other.
std::string write_manifests(const Model& m, ManifestFormat f, const std::string& zone_here,
                            const std::string& zone_other);

// True when every name in the Services is printable ASCII (what the writer can quote the same
// way in both formats).
bool names_are_plain(const Model& m);

}  // namespace nfgate::fuzz

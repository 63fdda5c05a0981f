// The gateway file's `bgp` section: ASN, router id, peers, what to announce.
#pragma once

#include "control/loader/field_reader.hpp"

namespace nfgate::loader {

// Reads `n` into m.bgp. A missing routerId is taken from the first node address (the call
// comes after nodeAddresses was read), or reported when there is none.
void read_bgp(Reporter& r, YNode n, const FieldPath& f, Model& m);

}  // namespace nfgate::loader

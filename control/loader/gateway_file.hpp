// The gateway file: everything in the Model except the Services.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/loader/field_reader.hpp"

namespace nfgate::loader {

struct ManifestRef {
    std::string path;  // as written in the file
    int line = 0;
    int index = 0;     // position in `manifests`, for error field names
};

// Fills every non-Service part of `m` from the document `root` and lists the manifests.
// `dataplane_override` (from the command line) replaces the file's `dataplane` before the
// dpdk-only checks run.
void read_gateway_file(Reporter& r, YNode root, const std::optional<DataplaneKind>& dataplane_override,
                       Model& m, std::vector<ManifestRef>& manifests);

}  // namespace nfgate::loader

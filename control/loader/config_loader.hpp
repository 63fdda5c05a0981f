// Loads the gateway file and the Kubernetes manifests it names into a Model, all or nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/loader/diag.hpp"
#include "model/model.hpp"

namespace nfgate::loader {

struct LoadResult {
    Model model;                // default-constructed whenever errors is non-empty
    std::vector<Diag> errors;   // every problem found; nothing may be applied if any
    std::vector<Diag> notices;  // objects skipped on purpose (other kinds, IPv6, headless...)
    bool ok() const { return errors.empty(); }
};

struct LoadOptions {
    // Replaces the file's `dataplane` before validation (the `--dataplane` option).
    std::optional<DataplaneKind> dataplane;
};

LoadResult load_config(const std::string& gateway_file_path);
LoadResult load_config(const std::string& gateway_file_path, const LoadOptions& options);

}  // namespace nfgate::loader

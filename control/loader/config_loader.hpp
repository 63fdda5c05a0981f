// Loads the gateway file and the Kubernetes manifests it names into a Model, all or nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/loader/diag.hpp"
#include "control/loader/manifest_objects.hpp"
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

// The two halves of load_config, for a daemon that adds objects from the API server: the
// gateway file and the manifests' objects as read (not yet joined), and their assembly.
struct LoadedSources {
    Model gateway;            // everything but services
    ManifestObjects objects;  // from the manifests
    std::vector<Diag> errors;
    std::vector<Diag> notices;
};
LoadedSources load_sources(const std::string& gateway_file_path, const LoadOptions& options);
// Joins sources.objects into a copy of sources.gateway (errors: none applied).
LoadResult assemble(const LoadedSources& sources);
LoadResult assemble(LoadedSources&& sources);  // the same, without copying the objects
LoadResult load_config(const std::string& gateway_file_path, const LoadOptions& options);

}  // namespace nfgate::loader

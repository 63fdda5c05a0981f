// What the loader and renderer fuzzers share: the gateway file their manifests hang off, and a
// scratch directory for the files each input becomes (removed at exit).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace nfgate::fuzz {

// Kernel path, zone "zone-a" (manifest_writer's ZoneHint::here), manifests in cluster/.
inline constexpr const char* kGateway =
    "dataplane: kernel\n"
    "nodeAddresses: [192.0.2.1]\n"
    "clusterCIDRs: [10.244.0.0/16]\n"
    "serviceCIDRs: [10.96.0.0/12]\n"
    "zone: zone-a\n"
    "conntrack: {maxFlows: 4096}\n"
    "manifests: [cluster/]\n";

// A fresh /tmp/nfgate-fuzz-NAME-XXXXXX; aborts when none can be made.
inline std::string scratch_dir(const char* name) {
    std::string tmpl = std::string("/tmp/nfgate-fuzz-") + name + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    return tmpl;
}

}  // namespace nfgate::fuzz

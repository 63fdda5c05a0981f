// The Model the gateway serves while following a cluster: the gateway file and its manifests,
// plus what the API server holds. API objects that cannot be served are left out, each with a
// reason; the manifests' own errors reject the whole (as a reload would).
#pragma once

#include <vector>

#include "control/kube/cluster_cache.hpp"
#include "control/loader/config_loader.hpp"

namespace nfgate::kube {

struct MergeResult {
    loader::LoadResult load;             // the model, or the file errors that refuse it
    std::vector<loader::Diag> skipped;   // API objects left out, and why
};

// An object both in the manifests and from the API is an error naming both; the file's copy
// is served. Objects from the API that the cross-object checks refuse (a VIP or nodePort
// claimed twice, a named targetPort no slice resolves...) are left out one round at a time
// until the rest assembles.
MergeResult merge_cluster(const loader::LoadedSources& files, const ClusterCache& cache);

}  // namespace nfgate::kube

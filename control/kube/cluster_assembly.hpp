// The Model served while following a cluster, kept between applies. A change to a few API
// objects re-resolves only the Services it touches (their endpoints; their frontends and
// nodePorts checked against everyone else's) instead of assembling the whole cluster again:
// at 10k Services that is the difference between ~25 ms and well under one for the control
// thread. Whatever the step cannot decide exactly as merge_cluster would (an error or a clash,
// an object left out last time freed or touched, the files or the gateway changed, a change of
// hundreds of Services) is decided by merge_cluster itself, so both give the same Model.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/kube/cluster_cache.hpp"
#include "control/kube/cluster_merge.hpp"
#include "control/loader/service_assembly.hpp"

namespace nfgate::kube {

class ClusterAssembly {
public:
    // The files or the gateway may have changed (a reload): the next assemble() merges in full.
    void invalidate() { valid_ = false; }

    // The files plus the cluster; `touched` is what the cache changed since the last call.
    // The result stays valid until the next call.
    const MergeResult& assemble(const loader::LoadedSources& files, const ClusterCache& cache,
                                const ClusterCache::Touched& touched);
    bool incremental() const { return incremental_; }  // how the last assemble() went

private:
    void full(const loader::LoadedSources& files, const ClusterCache& cache);
    bool step(const loader::LoadedSources& files, const ClusterCache& cache, const ClusterCache::Touched& touched);
    bool update(const loader::LoadedSources& files, const ClusterCache& cache, const std::string& key,
                std::vector<loader::Diag>& notices);
    bool claim(const std::string& key, const loader::Claims& next);
    void release(const std::string& key);

    MergeResult last_;
    bool valid_ = false;
    bool incremental_ = false;
    // What the files were when last_ was merged in full (a reload also calls invalidate()).
    const loader::LoadedSources* files_ = nullptr;
    size_t file_services_ = 0, file_slices_ = 0;
    std::unordered_map<std::string, size_t> file_service_at_;                // "ns/name" -> index
    std::unordered_map<std::string, std::vector<size_t>> file_slices_of_;  // Service "ns/name" -> indexes
    std::set<std::string> file_slice_keys_;                                   // "ns/name"
    std::set<std::string> left_out_;  // the objects last_.skipped names ("Service ns/name")
    std::unordered_map<std::string, loader::Claims> claims_;  // of every served Service
    std::unordered_map<loader::FrontendKey, std::string, loader::FrontendKeyHash> frontend_owner_;
    std::unordered_map<uint32_t, std::string> node_port_owner_;
};

}  // namespace nfgate::kube

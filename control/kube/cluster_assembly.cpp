#include "control/kube/cluster_assembly.hpp"

#include <algorithm>
#include <tuple>

namespace nfgate::kube {

namespace {

// Past this many touched Services (a relist after an outage) one full merge is cheaper than
// inserting into the sorted Service list one at a time.
constexpr size_t kMaxStep = 256;

bool before(const Service& s, const std::string& ns, const std::string& name) {
    return std::tie(s.ns, s.name) < std::tie(ns, name);
}

}  // namespace

const MergeResult& ClusterAssembly::assemble(const loader::LoadedSources& files, const ClusterCache& cache,
                                             const ClusterCache::Touched& touched) {
    incremental_ = valid_ && &files == files_ && files.objects.services.size() == file_services_ &&
                   files.objects.slices.size() == file_slices_ && step(files, cache, touched);
    if (!incremental_) full(files, cache);
    return last_;
}

void ClusterAssembly::full(const loader::LoadedSources& files, const ClusterCache& cache) {
    last_ = merge_cluster(files, cache);
    claims_.clear();
    frontend_owner_.clear();
    node_port_owner_.clear();
    left_out_.clear();
    file_service_at_.clear();
    file_slices_of_.clear();
    file_slice_keys_.clear();
    valid_ = last_.load.ok();
    if (!valid_) return;
    files_ = &files;
    file_services_ = files.objects.services.size();
    file_slices_ = files.objects.slices.size();
    for (size_t i = 0; i < file_services_; ++i) file_service_at_.emplace(files.objects.services[i].svc.key(), i);
    for (size_t i = 0; i < file_slices_; ++i) {
        const auto& sl = files.objects.slices[i];
        file_slices_of_[sl.service_key()].push_back(i);
        file_slice_keys_.insert(sl.key());
    }
    for (const auto& d : last_.skipped) left_out_.insert(d.object);
    // A served model has no clashes: every key has one owner.
    for (const Service& s : last_.load.model.services) claim(s.key(), loader::claims_of(s, last_.load.model));
}

bool ClusterAssembly::step(const loader::LoadedSources& files, const ClusterCache& cache,
                           const ClusterCache::Touched& touched) {
    if (touched.services.size() > kMaxStep) return false;
    // An object left out last time may be fine now, or its neighbours may be: merge it in full.
    // So may an object that now conflicts with a file's.
    for (const auto& o : touched.objects) {
        if (left_out_.count(o.str())) return false;
        const std::string key = o.ns + "/" + o.name;
        if (o.resource == Resource::services ? file_service_at_.count(key) != 0 : file_slice_keys_.count(key) != 0)
            return false;
    }
    for (const auto& key : touched.services)
        if (left_out_.count("Service " + key)) return false;
    std::vector<loader::Diag> notices;
    for (const auto& key : touched.services)
        if (!update(files, cache, key, notices)) return false;
    last_.load.notices = std::move(notices);
    return true;
}

bool ClusterAssembly::update(const loader::LoadedSources& files, const ClusterCache& cache, const std::string& key,
                             std::vector<loader::Diag>& notices) {
    auto& services = last_.load.model.services;
    const auto slash = key.find('/');
    const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
    auto at = std::lower_bound(services.begin(), services.end(), 0,
                               [&](const Service& s, int) { return before(s, ns, name); });
    const bool served = at != services.end() && at->ns == ns && at->name == name;

    const loader::ServiceSource* src = nullptr;
    if (auto f = file_service_at_.find(key); f != file_service_at_.end())
        src = &files.objects.services[f->second];
    else
        src = cache.service(key);
    if (!src) {
        // Deleted (or never there: a slice naming no Service). Freed frontends may let in an
        // object left out for claiming them.
        if (!served) return true;
        if (!left_out_.empty() && claims_.count(key)) return false;
        release(key);
        services.erase(at);
        return true;
    }

    std::vector<const loader::SliceSource*> slices;
    if (auto f = file_slices_of_.find(key); f != file_slices_of_.end())
        for (size_t i : f->second) slices.push_back(&files.objects.slices[i]);
    for (const auto* sl : cache.slices_of(key))  // an API slice clashing with a file's is left out
        if (left_out_.empty() || !left_out_.count("EndpointSlice " + sl->key())) slices.push_back(sl);

    std::vector<loader::ServiceSource> one{*src};
    std::vector<loader::Diag> errors;
    const std::string no_file;
    loader::Reporter r(no_file, errors, notices);
    loader::resolve_service(one[0], slices, r);
    loader::check_claims(one, last_.load.model, r);
    if (!errors.empty()) return false;  // left out or refused: merge_cluster says which

    loader::Claims next = loader::claims_of(one[0].svc, last_.load.model);
    auto held = claims_.find(key);
    if (held == claims_.end() || !(held->second == next)) {
        // Objects left out hold no claims here: any new claim may be theirs.
        if (!left_out_.empty()) return false;
        release(key);
        if (!claim(key, next)) return false;  // a clash: merge_cluster names the one to leave out
    }
    if (served)
        *at = std::move(one[0].svc);
    else
        services.insert(at, std::move(one[0].svc));
    return true;
}

bool ClusterAssembly::claim(const std::string& key, const loader::Claims& next) {
    bool clear = true;
    for (const loader::FrontendKey& f : next.frontends) {
        auto [it, fresh] = frontend_owner_.emplace(f, key);
        clear = clear && (fresh || it->second == key);
    }
    for (uint32_t n : next.node_ports) {
        auto [it, fresh] = node_port_owner_.emplace(n, key);
        clear = clear && (fresh || it->second == key);
    }
    claims_[key] = next;
    return clear;
}

void ClusterAssembly::release(const std::string& key) {
    auto held = claims_.find(key);
    if (held == claims_.end()) return;
    for (const loader::FrontendKey& f : held->second.frontends)
        if (auto it = frontend_owner_.find(f); it != frontend_owner_.end() && it->second == key) frontend_owner_.erase(it);
    for (uint32_t n : held->second.node_ports)
        if (auto it = node_port_owner_.find(n); it != node_port_owner_.end() && it->second == key) node_port_owner_.erase(it);
    claims_.erase(held);
}

}  // namespace nfgate::kube

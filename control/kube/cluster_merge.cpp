#include "control/kube/cluster_merge.hpp"

#include <map>
#include <set>
#include <string>

namespace nfgate::kube {

namespace {

// Each round leaves out the API objects the last assembly named; objects only clash in pairs
// or small groups, so a few rounds settle it. Past this, the API objects still named are
// left out all at once.
constexpr int kMaxRounds = 4;

// Moves the cache's objects into `into`, leaving out those the files define and those in `out`.
void add_api_objects(const loader::ManifestObjects& api, const loader::ManifestObjects& files,
                     const std::set<std::string>& left_out, loader::ManifestObjects& into,
                     std::vector<loader::Diag>* conflicts) {
    std::map<std::string, const loader::ServiceSource*> file_services;
    std::map<std::string, const loader::SliceSource*> file_slices;
    for (const auto& s : files.services) file_services.emplace(s.svc.key(), &s);
    for (const auto& s : files.slices) file_slices.emplace(s.ns + "/" + s.name, &s);
    for (const auto& s : api.services) {
        const std::string object = "Service " + s.svc.key();
        if (auto it = file_services.find(s.svc.key()); it != file_services.end()) {
            if (conflicts)
                conflicts->push_back(loader::Diag{it->second->file, it->second->line, object, "metadata.name",
                                                  "defined both here and by the " + std::string(kApiSource) +
                                                      " (want it in one place; the file's copy is served)"});
            continue;
        }
        if (!left_out.count(object)) into.services.push_back(s);
    }
    for (const auto& s : api.slices) {
        const std::string object = "EndpointSlice " + s.ns + "/" + s.name;
        if (auto it = file_slices.find(s.ns + "/" + s.name); it != file_slices.end()) {
            if (conflicts)
                conflicts->push_back(loader::Diag{it->second->file, it->second->line, object, "metadata.name",
                                                  "defined both here and by the " + std::string(kApiSource) +
                                                      " (want it in one place; the file's copy is served)"});
            continue;
        }
        if (!left_out.count(object)) into.slices.push_back(s);
    }
}

}  // namespace

MergeResult merge_cluster(const loader::LoadedSources& files, const ClusterCache& cache) {
    MergeResult res;
    const loader::ManifestObjects api = cache.objects();
    std::set<std::string> left_out;
    for (int round = 0;; ++round) {
        loader::LoadedSources all = files;
        add_api_objects(api, files.objects, left_out, all.objects, round == 0 ? &res.skipped : nullptr);
        res.load = loader::assemble(all);
        if (res.load.ok()) return res;
        std::vector<loader::Diag> from_files;
        bool named_api = false;
        for (const auto& e : res.load.errors) {
            if (e.file == kApiSource && !e.object.empty()) {
                named_api = left_out.insert(e.object).second || named_api;
                res.skipped.push_back(e);
            } else {
                from_files.push_back(e);
            }
        }
        // The files' own errors (or errors about nothing the API sent) refuse the model whole.
        if (!from_files.empty() || !named_api || round == kMaxRounds) {
            if (from_files.empty()) from_files = res.load.errors;
            res.load.errors = std::move(from_files);
            return res;
        }
    }
}

}  // namespace nfgate::kube

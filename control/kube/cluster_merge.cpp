#include "control/kube/cluster_merge.hpp"

#include <map>
#include <set>
#include <string>

namespace nfgate::kube {

namespace {

// Each round leaves out the API objects the last assembly named; objects only clash in pairs
// or small groups, so a few rounds settle it. Past this the model is refused and the one in
// force keeps serving.
constexpr int kMaxRounds = 4;

std::string key_of(const loader::ServiceSource& s) { return s.svc.key(); }
std::string key_of(const loader::SliceSource& s) { return s.key(); }

// Appends the API's objects of one kind to `into`, leaving out those in `left_out` and those
// the files define (each such conflict reported in `conflicts`, when given).
template <class Source>
void add_kind(std::vector<Source>&& api, const std::vector<Source>& files, const char* kind,
              const std::set<std::string>& left_out, std::vector<Source>& into, std::vector<loader::Diag>* conflicts) {
    std::map<std::string, const Source*> in_files;
    for (const auto& s : files) in_files.emplace(key_of(s), &s);
    for (auto& s : api) {
        const std::string object = std::string(kind) + " " + key_of(s);
        if (auto it = in_files.find(key_of(s)); it != in_files.end()) {
            if (conflicts)
                conflicts->push_back(loader::Diag{it->second->file, it->second->line, object, "metadata.name",
                                                  "defined both here and by the " + std::string(kApiSource) +
                                                      " (want it in one place; the file's copy is served)"});
            continue;
        }
        if (!left_out.count(object)) into.push_back(std::move(s));
    }
}

}  // namespace

MergeResult merge_cluster(const loader::LoadedSources& files, const ClusterCache& cache) {
    MergeResult res;
    std::set<std::string> left_out;
    for (int round = 0;; ++round) {
        // One copy of the cluster per round (the cache keeps its own): at 10k Services the
        // copies, not the checks, are most of an apply's cost.
        loader::ManifestObjects api = cache.objects();
        loader::LoadedSources all = files;
        std::vector<loader::Diag>* conflicts = round == 0 ? &res.skipped : nullptr;
        add_kind(std::move(api.services), files.objects.services, "Service", left_out, all.objects.services, conflicts);
        add_kind(std::move(api.slices), files.objects.slices, "EndpointSlice", left_out, all.objects.slices, conflicts);
        res.load = loader::assemble(std::move(all));
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

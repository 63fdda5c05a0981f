// The control thread's cost of one cluster change at 10k Services x 10 endpoints: a watch event
// decoded, taken into the cluster cache, and the files + cluster assembled into the Model handed
// to the data path (the data path's own apply is measured by bench/nft and the fast path's
// publish benchmarks). Median and p99 over the iterations, for the follower's incremental
// assembly (change_to_model) and for the full merge it falls back to (full_merge).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "control/kube/cluster_assembly.hpp"

namespace {

using namespace nfgate;

struct Cluster {
    kube::ClusterCache cache;
    loader::LoadedSources files;
    std::vector<std::string> events;  // MODIFIED Services, each with another port
    bool ok = false;

    Cluster() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "nfgate-bench-kube-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) return;
        std::string gen = std::string("python3 ") + GEN_CLUSTER + " --services 10000 --endpoints 10 --json --out " + tmpl;
        if (std::system(gen.c_str()) != 0) return;
        std::ifstream in(tmpl + "/cluster.json");
        std::ostringstream s;
        s << in.rdbuf();
        auto doc = nlohmann::json::parse(s.str());
        // The gateway file alone (no manifests): the cluster comes from the API.
        std::ofstream(tmpl + "/gw.yaml") << "serviceCIDRs: [10.96.0.0/16]\nnodeAddresses: [192.0.2.1]\n";
        files = loader::load_sources(tmpl + "/gw.yaml", {});
        nlohmann::json lists[2];
        for (auto& l : lists) l = {{"kind", "List"}, {"metadata", {{"resourceVersion", "1"}}}, {"items", nlohmann::json::array()}};
        for (const auto& item : doc["items"]) lists[item["kind"] == "Service" ? 0 : 1]["items"].push_back(item);
        std::vector<loader::Diag> errors, notices;
        for (int i = 0; i < 2; ++i) {
            kube::ListPage page;
            std::string err;
            const auto r = i == 0 ? kube::Resource::services : kube::Resource::endpoint_slices;
            if (!kube::decode_list(lists[i].dump(), r, files.gateway, page, err)) return;
            cache.apply(kube::Change{kube::Change::Op::replace, r, std::move(page.items)}, errors, notices);
        }
        for (int i = 0; i < 64; ++i) {
            auto svc = lists[0]["items"][i * 100];
            svc["spec"]["ports"][0]["port"] = 1000 + i;
            events.push_back(nlohmann::json{{"type", "MODIFIED"}, {"object", svc}}.dump());
        }
        std::error_code ec;
        std::filesystem::remove_all(tmpl, ec);
        ok = errors.empty() && cache.size() == 20000;
    }
};

Cluster& cluster() {
    static Cluster c;
    return c;
}

// One event through decode and the cache; `assemble` makes the Model from the cache.
template <class Assemble>
void one_change(benchmark::State& state, Assemble&& assemble) {
    Cluster& c = cluster();
    if (!c.ok) {
        state.SkipWithError("cluster generation or decoding failed");
        return;
    }
    std::vector<double> ms;
    size_t i = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        kube::WatchEvent ev;
        std::string err;
        kube::decode_event(c.events[i++ % c.events.size()], kube::Resource::services, c.files.gateway, ev, err);
        std::vector<loader::Diag> errors, notices;
        c.cache.apply(kube::Change{kube::Change::Op::upsert, kube::Resource::services, {std::move(ev.object)}}, errors, notices);
        const loader::LoadResult model = assemble(c);
        benchmark::DoNotOptimize(model.model.services.size());
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (!model.ok()) {
            state.SkipWithError(model.errors.front().str().c_str());
            return;
        }
    }
    std::sort(ms.begin(), ms.end());
    state.counters["p50_ms"] = ms[ms.size() / 2];
    state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
}

// As the follower does it: the Services the change touched re-resolved, the result copied out.
void change_to_model(benchmark::State& state) {
    kube::ClusterAssembly assembly;
    assembly.assemble(cluster().files, cluster().cache, cluster().cache.take_touched());
    size_t incremental = 0;
    one_change(state, [&](Cluster& c) {
        loader::LoadResult out = assembly.assemble(c.files, c.cache, c.cache.take_touched()).load;
        incremental += assembly.incremental();
        return out;
    });
    state.counters["incremental"] = static_cast<double>(incremental);
}

// The whole cluster merged and assembled again (the fallback; each apply before the incremental one).
void full_merge(benchmark::State& state) {
    one_change(state, [](Cluster& c) { return kube::merge_cluster(c.files, c.cache).load; });
}

// What the control thread pays for one copy of the served Model at this size.
void model_copy(benchmark::State& state) {
    Cluster& c = cluster();
    kube::MergeResult merged = kube::merge_cluster(c.files, c.cache);
    for (auto _ : state) {
        Model copy = merged.load.model;
        benchmark::DoNotOptimize(copy.services.data());
    }
}

}  // namespace

BENCHMARK(model_copy)->Unit(benchmark::kMillisecond)->Iterations(50);
BENCHMARK(change_to_model)->Unit(benchmark::kMillisecond)->Iterations(200);
BENCHMARK(full_merge)->Unit(benchmark::kMillisecond)->Iterations(100);

BENCHMARK_MAIN();

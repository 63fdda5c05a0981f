// How long loading a large cluster takes: 10k Services x 10 endpoints, as kubectl prints it
// in YAML documents and as one JSON List (written by bench/gen_cluster.py). CPU time is the
// whole process: large YAML files are parsed on several threads.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "control/loader/config_loader.hpp"

namespace {

struct GeneratedCluster {
    std::string dir;
    bool ok = false;

    GeneratedCluster() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "nfgate-bench-loader-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) return;
        dir = tmpl;
        std::string gen = std::string("python3 ") + GEN_CLUSTER + " --services 10000 --endpoints 10 --out ";
        ok = std::system((gen + dir + "/yaml").c_str()) == 0 && std::system((gen + dir + "/json --json").c_str()) == 0;
    }
    ~GeneratedCluster() {
        std::error_code ec;
        if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
};

GeneratedCluster& cluster() {
    static GeneratedCluster c;
    return c;
}

void load(benchmark::State& state, const char* flavour) {
    if (!cluster().ok) {
        state.SkipWithError("bench/gen_cluster.py failed");
        return;
    }
    std::string gateway = cluster().dir + "/" + flavour + "/gateway.yaml";
    size_t endpoints = 0;
    for (auto _ : state) {
        auto res = nfgate::loader::load_config(gateway);
        if (!res.ok()) {
            state.SkipWithError(res.errors.front().str().c_str());
            return;
        }
        endpoints = 0;
        for (const auto& s : res.model.services)
            for (const auto& p : s.ports) endpoints += p.endpoints.size();
        benchmark::DoNotOptimize(res);
    }
    state.counters["services"] = 10000;
    state.counters["endpoints"] = static_cast<double>(endpoints);
    std::error_code ec;
    auto bytes = std::filesystem::file_size(cluster().dir + "/" + flavour + "/cluster." + flavour, ec);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(ec ? 0 : bytes));
}

void BM_Load10kServicesYaml(benchmark::State& state) { load(state, "yaml"); }
void BM_Load10kServicesJson(benchmark::State& state) { load(state, "json"); }

BENCHMARK(BM_Load10kServicesYaml)->Unit(benchmark::kMillisecond)->Iterations(5)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_Load10kServicesJson)->Unit(benchmark::kMillisecond)->Iterations(5)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

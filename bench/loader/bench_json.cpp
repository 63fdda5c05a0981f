// JSON parsers compared on what nfgate reads: a 10k-Service `kubectl get -o json` List (written
// by bench/gen_cluster.py) and one small watch event as the API server streams it. "tree" is the
// loader's own path (YamlTree::parse, which keeps line numbers for error messages); nlohmann and
// simdjson DOM are the two Debian libraries parsing the same text into their own documents.
#include <benchmark/benchmark.h>

#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "control/loader/yaml_tree.hpp"

namespace {

struct Inputs {
    std::string list;   // the whole cluster as one JSON List
    std::string event;  // {"type":"MODIFIED","object":<one Service of that list>}
    bool ok = false;

    Inputs() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "nfgate-bench-json-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) return;
        std::string gen = std::string("python3 ") + GEN_CLUSTER + " --services 10000 --endpoints 10 --json --out " + tmpl;
        if (std::system(gen.c_str()) == 0) {
            std::ifstream in(tmpl + "/cluster.json", std::ios::binary);
            std::ostringstream s;
            s << in.rdbuf();
            list = s.str();
            auto doc = nlohmann::json::parse(list);
            event = nlohmann::json{{"type", "MODIFIED"}, {"object", doc["items"][0]}}.dump();
            ok = !list.empty();
        }
        std::error_code ec;
        std::filesystem::remove_all(tmpl, ec);
    }
};

const Inputs& inputs() {
    static Inputs in;
    return in;
}

const std::string& pick(bool big) { return big ? inputs().list : inputs().event; }

void tree(benchmark::State& state, bool big) {
    const std::string& text = pick(big);
    nfgate::loader::YamlTree t;
    std::string err;
    int line = 0;
    for (auto _ : state) {
        if (!t.parse(text, err, line)) {
            state.SkipWithError(err.c_str());
            return;
        }
        benchmark::DoNotOptimize(t.documents().size());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}

void nlohmann_parse(benchmark::State& state, bool big) {
    const std::string& text = pick(big);
    for (auto _ : state) {
        auto doc = nlohmann::json::parse(text);
        benchmark::DoNotOptimize(doc.size());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}

void simdjson_dom(benchmark::State& state, bool big) {
    const std::string& text = pick(big);
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    for (auto _ : state) {
        auto doc = parser.parse(padded);
        if (doc.error()) {
            state.SkipWithError(simdjson::error_message(doc.error()));
            return;
        }
        benchmark::DoNotOptimize(doc.value_unsafe());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}

}  // namespace

BENCHMARK_CAPTURE(tree, list_10k, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(nlohmann_parse, list_10k, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(simdjson_dom, list_10k, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(tree, watch_event, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(nlohmann_parse, watch_event, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(simdjson_dom, watch_event, false)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

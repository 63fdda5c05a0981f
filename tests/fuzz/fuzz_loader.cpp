// libFuzzer target: the configuration loader (gateway file, YAML and JSON manifests) on
// arbitrary bytes. Invariants after each input:
//  - load_config never lets an exception out of a reader (the catch-all's "cannot load" is a
//    finding: it means a reader threw);
//  - every error names its file and a line;
//  - a configuration that loads, written back as manifests (YAML and JSON), loads to the same
//    Model: what the loader accepted it reads the same way twice, in both formats.
// The first input byte picks what the rest is: bit 0 set: the gateway file (manifests fixed),
// else a manifests file; bit 1 picks .json over .yaml for it.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "control/loader/config_loader.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/manifest_writer.hpp"

namespace {

using nfgate::Model;
using nfgate::loader::LoadResult;

using nfgate::fuzz::kGateway;

constexpr const char* kManifest =
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
    "spec:\n  clusterIP: 10.96.0.10\n  ports: [{name: http, port: 80, targetPort: 8080}]\n"
    "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}\n"
    "addressType: IPv4\nports: [{name: http, port: 8080}]\n"
    "endpoints: [{addresses: [10.244.1.10]}]\n";

std::string g_dir;
unsigned long g_inputs = 0, g_valid = 0;  // printed at exit: how many inputs loaded and round-tripped

void write(const std::string& name, const uint8_t* data, size_t size) {
    std::ofstream(g_dir + "/" + name, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}
void write(const std::string& name, const std::string& text) {
    write(name, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

[[noreturn]] void finding(const std::string& what, const LoadResult& r) {
    std::fprintf(stderr, "fuzz_loader: %s\n", what.c_str());
    for (const auto& d : r.errors) std::fprintf(stderr, "  error: %s\n", d.str().c_str());
    std::abort();
}

void check_errors_name_a_place(const LoadResult& r) {
    for (const auto& d : r.errors) {
        if (d.message.rfind("cannot load", 0) == 0) finding("a reader threw: " + d.str(), r);
        if (d.file.empty() || d.line < 1) finding("an error without file and line: " + d.str(), r);
    }
}

// Names the first difference, for the crash report.
std::string first_difference(const Model& a, const Model& b) {
    if (a.services.size() != b.services.size())
        return std::to_string(a.services.size()) + " Services became " + std::to_string(b.services.size());
    for (size_t i = 0; i < a.services.size(); ++i) {
        const nfgate::Service& x = a.services[i];
        const nfgate::Service& y = b.services[i];
        if (x == y) continue;
        std::string what = "Service " + x.key() + ": ";
        if (x.ns != y.ns || x.name != y.name) return what + "became " + y.key();
        if (x.cluster_ips != y.cluster_ips) return what + "clusterIPs";
        if (x.external_ips != y.external_ips) return what + "externalIPs";
        if (x.lb_ips != y.lb_ips) return what + "LB IPs";
        if (x.affinity_client_ip != y.affinity_client_ip || x.affinity_timeout_s != y.affinity_timeout_s)
            return what + "affinity";
        if (x.external_traffic_policy != y.external_traffic_policy) return what + "traffic policy";
        if (x.lb_source_ranges != y.lb_source_ranges) return what + "source ranges";
        if (x.ports.size() != y.ports.size()) return what + "port count";
        for (size_t k = 0; k < x.ports.size(); ++k) {
            const auto& p = x.ports[k];
            const auto& q = y.ports[k];
            if (p.name != q.name || p.proto != q.proto || p.port != q.port || p.node_port != q.node_port)
                return what + "port " + std::to_string(k) + " (" + p.name + "/" + std::to_string(p.port) + ")";
            if (p.endpoints.size() != q.endpoints.size())
                return what + "port " + p.name + ": " + std::to_string(p.endpoints.size()) + " endpoints became " +
                       std::to_string(q.endpoints.size());
            for (size_t e = 0; e < p.endpoints.size(); ++e)
                if (!(p.endpoints[e] == q.endpoints[e]))
                    return what + "port " + p.name + ": endpoint " + nfgate::ip_to_string(p.endpoints[e].ip) +
                           ":" + std::to_string(p.endpoints[e].port);
        }
        return what + "?";
    }
    return "outside the Services";
}

void check_round_trip(const Model& m, nfgate::fuzz::ManifestFormat f) {
    std::filesystem::remove_all(g_dir + "/cluster");
    std::filesystem::create_directories(g_dir + "/cluster");
    const bool json = f == nfgate::fuzz::ManifestFormat::json;
    write(json ? "cluster/back.json" : "cluster/back.yaml",
          nfgate::fuzz::write_manifests(m, f, "zone-a", "zone-b"));
    write("gateway.yaml", kGateway);
    LoadResult again = nfgate::loader::load_config(g_dir + "/gateway.yaml");
    if (!again.ok()) finding(std::string("the loaded model written back as ") + (json ? "JSON" : "YAML") +
                                 " does not load",
                             again);
    if (!(again.model == m)) {
        std::fprintf(stderr, "fuzz_loader: the %s round trip changed the model: %s\n", json ? "JSON" : "YAML",
                     first_difference(m, again.model).c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    g_dir = nfgate::fuzz::scratch_dir("loader");
    std::atexit([] {
        std::filesystem::remove_all(g_dir);
        std::fprintf(stderr, "fuzz_loader: %lu of %lu inputs loaded and were written back\n", g_valid, g_inputs);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ++g_inputs;
    if (size < 1) return 0;
    const bool gateway = data[0] & 1;
    const bool json = data[0] & 2;
    std::filesystem::remove_all(g_dir + "/cluster");
    std::filesystem::create_directories(g_dir + "/cluster");
    if (gateway) {
        write("gateway.yaml", data + 1, size - 1);
        write("cluster/base.yaml", kManifest);
    } else {
        write("gateway.yaml", kGateway);
        write(json ? "cluster/input.json" : "cluster/input.yaml", data + 1, size - 1);
    }
    LoadResult r = nfgate::loader::load_config(g_dir + "/gateway.yaml");
    check_errors_name_a_place(r);
    if (!r.ok() || gateway || !nfgate::fuzz::names_are_plain(r.model)) return 0;
    ++g_valid;
    check_round_trip(r.model, nfgate::fuzz::ManifestFormat::yaml);
    check_round_trip(r.model, nfgate::fuzz::ManifestFormat::json);
    return 0;
}

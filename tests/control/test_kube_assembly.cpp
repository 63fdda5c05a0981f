// The incremental assembly of a followed cluster against the full merge: after every one of
// thousands of random API changes (Services and slices added, changed, deleted, made invalid;
// VIPs, nodePorts and names clashing with each other and with the files' objects) both must
// give the same Model and leave out the same objects.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "control/kube/api_decode.hpp"
#include "control/kube/cluster_assembly.hpp"
#include "temp_config.hpp"

using namespace nfgate::kube;
using nfgate::loader::Diag;

namespace {

struct Random {
    std::mt19937 gen;
    explicit Random(unsigned seed) : gen(seed) {}
    int below(int n) { return static_cast<int>(gen() % static_cast<unsigned>(n)); }
    bool chance(int percent) { return below(100) < percent; }
};

std::string service_json(Random& r, const std::string& name) {
    // Few addresses and ports, so VIPs, node addresses and nodePorts clash now and then.
    std::string ip = r.chance(3) ? "10.97.0.1" : "10.96.1." + std::to_string(1 + r.below(40));  // 10.97: invalid
    std::string spec = R"("clusterIP":")" + ip + R"(")";
    const bool node_port = r.chance(30);
    spec += node_port ? R"(,"type":"NodePort")" : R"(,"type":"ClusterIP")";
    if (r.chance(10)) spec += R"(,"externalIPs":["192.0.2.1"])";
    std::string ports;
    const int n = 1 + r.below(2);
    for (int i = 0; i < n; ++i) {
        const char* pname = i == 0 ? "http" : "https";
        std::string target = r.chance(4) ? R"("web")" : "8080";
        ports += std::string(i ? "," : "") + R"({"name":")" + pname + R"(","protocol":"TCP","port":)" +
                 std::to_string(r.chance(10) ? 30001 : 80 + i) + R"(,"targetPort":)" + target +
                 (node_port ? R"(,"nodePort":)" + std::to_string(30001 + r.below(12) + 20 * i) : std::string()) + "}";
    }
    return R"({"kind":"Service","apiVersion":"v1","metadata":{"name":")" + name +
           R"(","namespace":"shop"},"spec":{)" + spec + R"(,"ports":[)" + ports + "]}}";
}

std::string slice_json(Random& r, const std::string& name) {
    static const char* port_names[] = {"http", "https", "web"};
    std::string endpoints;
    const int n = r.below(4);
    for (int i = 0; i < n; ++i) {
        const bool ready = r.chance(70), terminating = !ready && r.chance(50);
        endpoints += std::string(i ? "," : "") + R"({"addresses":["10.244.0.)" + std::to_string(1 + r.below(8)) +
                     R"("],"conditions":{"ready":)" + (ready ? "true" : "false") + R"(,"serving":)" +
                     (ready || r.chance(50) ? "true" : "false") + R"(,"terminating":)" +
                     (terminating ? "true" : "false") + "}}";
    }
    return R"({"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":")" + name +
           R"(","namespace":"shop","labels":{"kubernetes.io/service-name":"s)" + std::to_string(r.below(10)) +
           R"("}},"addressType":"IPv4","ports":[{"name":")" + port_names[r.below(3)] +
           R"(","protocol":"TCP","port":)" + std::to_string(8080 + r.below(2)) + R"(}],"endpoints":[)" + endpoints + "]}";
}

Change random_change(Random& r, const nfgate::Model& gateway) {
    const bool service = r.chance(40);
    const Resource res = service ? Resource::services : Resource::endpoint_slices;
    // s0 and slice f0 are also in the files: the API's copies conflict with them.
    const std::string name = service ? "s" + std::to_string(r.chance(5) ? 0 : 1 + r.below(9))
                                     : "sl" + std::to_string(r.below(14));
    WatchEvent ev;
    std::string err;
    const std::string object = service ? service_json(r, name) : slice_json(r, name == "sl13" ? "f0" : name);
    const bool deleted = r.chance(name == "s0" || name == "sl13" ? 80 : 20);
    EXPECT_TRUE(decode_event(std::string(R"({"type":")") + (deleted ? "DELETED" : "MODIFIED") + R"(","object":)" +
                                 object + "}", res, gateway, ev, err)) << err;
    Change c{deleted ? Change::Op::remove : Change::Op::upsert, res, {}};
    c.objects.push_back(std::move(ev.object));
    return c;
}

// What a failure prints: each Service with its ports, nodePorts and endpoints.
std::string describe(const MergeResult& m) {
    std::string out;
    for (const auto& s : m.load.model.services) {
        out += "  " + s.key() + " " + std::to_string(s.cluster_ips.size()) + " clusterIPs:";
        for (const auto& p : s.ports) {
            out += " " + p.name + "/" + std::to_string(p.port) + "/" + std::to_string(p.node_port) + "[";
            for (const auto& e : p.endpoints) out += std::to_string(e.ip & 0xff) + ":" + std::to_string(e.port) + " ";
            out += "]";
        }
        out += "\n";
    }
    for (const auto& d : m.skipped) out += "  left out: " + d.str() + "\n";
    return out;
}

std::set<std::string> named(const std::vector<Diag>& ds) {
    std::set<std::string> out;
    for (const auto& d : ds) out.insert(d.str());
    return out;
}

const char* kManifest = R"(apiVersion: v1
kind: Service
metadata: {name: s0, namespace: shop}
spec:
  clusterIP: 10.96.1.1
  ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: f0, namespace: shop, labels: {kubernetes.io/service-name: s1}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints: [{addresses: [10.244.0.9], conditions: {ready: true}}]
)";

}  // namespace

TEST(ClusterAssembly, EveryStepGivesWhatTheFullMergeGives) {
    nfgate::testsupport::TempConfig cfg;
    cfg.write("m.yaml", kManifest);
    const auto files = nfgate::loader::load_sources(
        cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nnodeAddresses: [192.0.2.1]\nmanifests: [m.yaml]\n"), {});
    ASSERT_TRUE(files.errors.empty()) << files.errors.front().str();
    size_t incremental = 0, served = 0, left_out = 0, steps = 0;
    for (unsigned seed = 1; seed <= 8; ++seed) {
        Random r(seed);
        ClusterCache cache;
        ClusterAssembly assembly;
        for (int i = 0; i < 400; ++i, ++steps) {
            std::vector<Diag> errors, notices;
            // One to three changes per apply, as a paced follower takes them.
            for (int k = 1 + r.below(3); k > 0; --k) cache.apply(random_change(r, files.gateway), errors, notices);
            const MergeResult& step = assembly.assemble(files, cache, cache.take_touched());
            const MergeResult whole = merge_cluster(files, cache);
            ASSERT_EQ(step.load.ok(), whole.load.ok()) << "seed " << seed << " step " << i;
            if (!whole.load.ok()) continue;
            ASSERT_EQ(step.load.model.services, whole.load.model.services)
                << "seed " << seed << " step " << i << "\nincremental:\n" << describe(step) << "full:\n" << describe(whole);
            ASSERT_EQ(named(step.skipped), named(whole.skipped)) << "seed " << seed << " step " << i;
            incremental += assembly.incremental();
            served += whole.load.model.services.size();
            left_out += !whole.skipped.empty();
        }
    }
    // The random cluster must exercise both ways: steps taken alone, and clashes merged in full.
    EXPECT_GT(incremental, steps / 5);
    EXPECT_LT(incremental, steps);
    EXPECT_GT(left_out, steps / 10);
    EXPECT_GT(served, steps * 3);
    std::cout << steps << " applies: " << incremental << " incremental, " << left_out << " with objects left out, "
              << served / steps << " Services served on average\n";
}

TEST(ClusterAssembly, AReloadMergesInFull) {
    nfgate::testsupport::TempConfig cfg;
    cfg.write("m.yaml", kManifest);
    const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n");
    auto files = nfgate::loader::load_sources(gw, {});
    Random r(99);
    ClusterCache cache;
    ClusterAssembly assembly;
    std::vector<Diag> errors, notices;
    cache.apply(random_change(r, files.gateway), errors, notices);
    assembly.assemble(files, cache, cache.take_touched());
    EXPECT_FALSE(assembly.incremental());  // the first is always whole
    assembly.assemble(files, cache, cache.take_touched());
    EXPECT_TRUE(assembly.incremental());  // nothing touched: the same Model
    cfg.write("m.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s9, namespace: shop}\n"
                        "spec: {clusterIP: 10.96.1.99, ports: [{port: 80}]}\n");
    files = nfgate::loader::load_sources(gw, {});
    assembly.invalidate();
    const MergeResult& after = assembly.assemble(files, cache, cache.take_touched());
    EXPECT_FALSE(assembly.incremental());
    ASSERT_TRUE(after.load.ok());
    EXPECT_EQ(after.load.model.services, merge_cluster(files, cache).load.model.services);
}

// Duplicate mapping keys (issue 14): refused in YAML and JSON, gateway file and manifests, with
// both lines named; before, the first value silently won where kubectl keeps the last.
#include <gtest/gtest.h>

#include "control/loader/config_loader.hpp"
#include "temp_config.hpp"

namespace nfgate::loader {
namespace {

using testsupport::TempConfig;

void expect_duplicate(const LoadResult& r, const std::string& file, int line, int first, const std::string& key) {
    ASSERT_EQ(r.errors.size(), 1u) << (r.errors.empty() ? std::string("config ok") : r.errors[0].str());
    const Diag& d = r.errors[0];
    EXPECT_EQ(d.file, file);
    EXPECT_EQ(d.line, line);
    EXPECT_EQ(d.field, key);
    EXPECT_EQ(d.message, "duplicate key \"" + key + "\" (first at line " + std::to_string(first) +
                             "; a key may appear once per mapping)");
    EXPECT_TRUE(r.model.services.empty());
}

TEST(LoaderDuplicates, GatewayFileYamlAndJson) {
    TempConfig cfg;
    const std::string y = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nworkers: 1\nworkers: 2\n");
    expect_duplicate(load_config(y), y, 3, 2, "workers");
    const std::string j = cfg.write("gw.json", "{\n\"serviceCIDRs\": [\"10.96.0.0/16\"],\n\"workers\": 1,\n\"workers\": 2\n}\n");
    expect_duplicate(load_config(j), j, 4, 3, "workers");
}

TEST(LoaderDuplicates, ManifestYamlAndJsonNested) {
    TempConfig cfg;
    const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m/]\n");
    const std::string y = cfg.write("m/svc.yaml",
                                    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: lab}\n"
                                    "spec:\n  clusterIP: 10.96.0.10\n  clusterIP: 10.96.0.11\n  ports: [{port: 80}]\n");
    expect_duplicate(load_config(gw), y, 6, 5, "clusterIP");
    std::filesystem::remove(y);
    const std::string j = cfg.write("m/svc.json",
                                    "{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n"
                                    "\"metadata\": {\"name\": \"web\", \"namespace\": \"lab\"},\n"
                                    "\"spec\": {\"clusterIP\": \"10.96.0.10\", \"ports\": [{\"port\": 80,\n"
                                    "\"port\": 81}]}}\n");
    expect_duplicate(load_config(gw), j, 4, 3, "port");
}

TEST(LoaderDuplicates, SameKeyInDifferentMappingsIsFine) {
    TempConfig cfg;
    const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n");
    cfg.write("m.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: lab}\n"
                        "spec: {clusterIP: 10.96.0.10, ports: [{name: a, port: 80}, {name: b, port: 81}]}\n");
    const LoadResult r = load_config(gw);
    EXPECT_TRUE(r.ok()) << r.errors[0].str();
}

}  // namespace
}  // namespace nfgate::loader

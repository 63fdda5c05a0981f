// Inputs a hostile or careless user can write (issue 14, "hangs"): everything after parsing is
// linear, and nesting no real manifest has is refused before the parser sees it. The time bounds
// are generous (they catch the quadratic cases: 100k ports once took 58 s), not benchmarks.
#include <gtest/gtest.h>

#include <chrono>

#include "control/loader/config_loader.hpp"
#include "temp_config.hpp"

namespace nfgate::loader {
namespace {

using testsupport::TempConfig;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

TEST(LoaderScale, OneServiceWithOneHundredThousandPorts) {
    constexpr int kPorts = 100000;
    std::string svc = "apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: lab}\n"
                      "spec:\n  clusterIP: 10.96.0.10\n  ports:\n";
    std::string slice = "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                        "metadata: {name: big-1, namespace: lab, labels: {kubernetes.io/service-name: big}}\n"
                        "addressType: IPv4\nendpoints: [{addresses: [10.244.1.10]}]\nports:\n";
    for (int i = 0; i < kPorts; ++i) {
        const std::string name = "p" + std::to_string(i);
        const int proto_port = 1 + i % 65535;
        const char* proto = i < 65535 ? "TCP" : "UDP";
        svc += "  - {name: " + name + ", port: " + std::to_string(proto_port) + ", protocol: " + proto + "}\n";
        slice += "- {name: " + name + ", port: 8080, protocol: " + proto + "}\n";
    }
    TempConfig cfg;
    cfg.write("m/big.yaml", svc + slice);
    const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m/]\n");
    const auto t0 = Clock::now();
    const LoadResult r = load_config(gw);
    const double took = seconds_since(t0);
    ASSERT_TRUE(r.ok()) << r.errors[0].str();
    ASSERT_EQ(r.model.services.size(), 1u);
    EXPECT_EQ(r.model.services[0].ports.size(), static_cast<size_t>(kPorts));
    EXPECT_EQ(r.model.services[0].ports.back().endpoints.size(), 1u);
    EXPECT_LT(took, 5.0) << "linear after parsing";
}

TEST(LoaderScale, TwoHundredThousandExternalIps) {
    std::string svc = "apiVersion: v1\nkind: Service\nmetadata: {name: many, namespace: lab}\n"
                      "spec:\n  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n  externalIPs:\n";
    for (int i = 0; i < 200000; ++i)
        svc += "  - 10." + std::to_string(100 + i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
               std::to_string(i % 256) + "\n";
    TempConfig cfg;
    cfg.write("m.yaml", svc);
    const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n");
    const auto t0 = Clock::now();
    const LoadResult r = load_config(gw);
    const double took = seconds_since(t0);
    ASSERT_TRUE(r.ok()) << r.errors[0].str();
    EXPECT_EQ(r.model.services[0].external_ips.size(), 200000u);
    EXPECT_LT(took, 5.0);
}

TEST(LoaderScale, DeepNestingIsRefusedQuickly) {
    TempConfig cfg;
    for (const char* open_close : {"[]", "{}"}) {
        std::string deep = "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: lab}\nspec: ";
        std::string closing;
        for (int i = 0; i < 100000; ++i) {
            deep += open_close[0];
            if (open_close[0] == '{') deep += "a: ";
            closing += open_close[1];
        }
        cfg.write("m.yaml", deep + "1" + closing + "\n");
        const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n");
        const auto t0 = Clock::now();
        const LoadResult r = load_config(gw);
        EXPECT_LT(seconds_since(t0), 2.0);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.errors[0].message.find("nested deeper than"), std::string::npos) << r.errors[0].str();
        EXPECT_EQ(r.errors[0].line, 4);
    }
}

}  // namespace
}  // namespace nfgate::loader

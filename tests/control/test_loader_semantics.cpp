// Service and EndpointSlice semantics as kube-proxy reads them, each from manifests of the shape
// real clusters produce: endpoint conditions (ready / serving / terminating) and the fallback to
// terminating endpoints, zone hints, scaled-to-zero Services, ipMode Proxy, v1beta1 slices,
// cluster-scoped objects, duplicates across slices, slices without their Service.
#include <gtest/gtest.h>

#include <algorithm>

#include "control/loader/config_loader.hpp"
#include "model/endpoint_choice.hpp"
#include "tests/control/temp_config.hpp"

namespace nfgate::loader {
namespace {

using testsupport::TempConfig;

uint32_t ip(const char* s) {
    uint32_t v = 0;
    EXPECT_TRUE(parse_ipv4(s, v)) << s;
    return v;
}

std::string all(const std::vector<Diag>& diags) {
    std::string out;
    for (const auto& d : diags) out += d.str() + "\n";
    return out;
}

bool has_notice(const LoadResult& r, const std::string& text) {
    return std::any_of(r.notices.begin(), r.notices.end(), [&](const Diag& d) { return d.str().find(text) != std::string::npos; });
}

const char* kService = R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, targetPort: http}]
)";

std::string slice(const std::string& endpoints, const std::string& api = "discovery.k8s.io/v1",
                  const std::string& name = "web-1", const std::string& service = "web") {
    return "---\napiVersion: " + api + "\nkind: EndpointSlice\nmetadata:\n  name: " + name +
           "\n  namespace: shop\n  labels: {kubernetes.io/service-name: " + service +
           "}\naddressType: IPv4\nports: [{name: http, protocol: TCP, port: 8080}]\nendpoints:\n" + endpoints;
}

std::string ep(const char* addr, const std::string& conditions, const std::string& extra = "") {
    return "- addresses: [" + std::string(addr) + "]\n  conditions: " + conditions + "\n" + extra;
}

struct Loaded {
    LoadResult res;
    const ServicePort* port = nullptr;
};

class Semantics : public ::testing::Test {
protected:
    Loaded load(const std::string& manifest, const std::string& gateway_extra = "") {
        cfg.write("m.yaml", manifest);
        Loaded l{load_config(cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n" + gateway_extra)), nullptr};
        for (const auto& s : l.res.model.services)
            if (s.name == "web" && !s.ports.empty()) l.port = &s.ports[0];
        return l;
    }
    static std::vector<uint32_t> chosen_ips(const ServicePort& p) {
        std::vector<uint32_t> out;
        for (const auto& e : chosen_endpoints(p)) out.push_back(e.ip);
        return out;
    }
    TempConfig cfg;
};

TEST_F(Semantics, ReadyEndpointsAreChosenTerminatingOnesOnlyWhenNoneIsReady) {
    Loaded l = load(std::string(kService) +
                    slice(ep("10.244.1.1", "{ready: true}") + ep("10.244.1.2", "{ready: false, serving: true, terminating: true}") +
                          ep("10.244.1.3", "{ready: false, serving: false, terminating: true}") + ep("10.244.1.4", "{}")));
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    ASSERT_NE(l.port, nullptr);
    EXPECT_EQ(chosen_ips(*l.port), (std::vector<uint32_t>{ip("10.244.1.1"), ip("10.244.1.4")}))
        << "ready, and ready when the condition is absent";
    // Every pod terminating but serving (a rolling update of a one-replica Deployment): served
    // by them, not rejected (KEP-1669); a terminating pod that stopped serving never.
    l = load(std::string(kService) + slice(ep("10.244.1.2", "{ready: false, serving: true, terminating: true}") +
                                           ep("10.244.1.3", "{ready: false, serving: false, terminating: true}")));
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    EXPECT_EQ(chosen_ips(*l.port), (std::vector<uint32_t>{ip("10.244.1.2")}));
    // Flows already made keep a serving endpoint; one that stops serving loses them.
    for (const auto& e : l.port->endpoints) EXPECT_EQ(keeps_flows(e), e.ip == ip("10.244.1.2"));
}

TEST_F(Semantics, ZoneHintsNarrowTheChoiceOnlyWhenEveryReadyEndpointHasOne) {
    const std::string a = "  hints: {forZones: [{name: zone-a}]}\n", b = "  hints: {forZones: [{name: zone-b}]}\n";
    Loaded l = load(std::string(kService) + slice(ep("10.244.1.1", "{ready: true}", a) + ep("10.244.1.2", "{ready: true}", b)),
                    "zone: zone-a\n");
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    EXPECT_EQ(chosen_ips(*l.port), (std::vector<uint32_t>{ip("10.244.1.1")}));
    l = load(std::string(kService) + slice(ep("10.244.1.1", "{ready: true}", a) + ep("10.244.1.2", "{ready: true}")),
             "zone: zone-a\n");
    EXPECT_EQ(chosen_ips(*l.port).size(), 2u) << "one endpoint without a hint: all of them";
    l = load(std::string(kService) + slice(ep("10.244.1.1", "{ready: true}", a) + ep("10.244.1.2", "{ready: true}", b)));
    EXPECT_EQ(chosen_ips(*l.port).size(), 2u) << "a gateway without a zone: all of them";
    l = load(std::string(kService) + slice(ep("10.244.1.1", "{ready: true}", b)), "zone: zone-a\n");
    EXPECT_EQ(chosen_ips(*l.port).size(), 1u) << "nothing hinted for this zone: all of them";
}

TEST_F(Semantics, AServiceScaledToZeroWithANamedTargetPortIsNoError) {
    // What the EndpointSlice controller leaves when a Deployment is scaled to zero.
    Loaded l = load(std::string(kService) +
                    "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
                    "  namespace: shop\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\n"
                    "endpoints: null\nports: null\n");
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    ASSERT_NE(l.port, nullptr);
    EXPECT_TRUE(l.port->endpoints.empty()) << "no endpoints: it rejects traffic";
    EXPECT_TRUE(has_notice(l.res, "scaled to zero")) << all(l.res.notices);
}

TEST_F(Semantics, ProxyModeIngressIpsAreLeftToTheLoadBalancer) {
    Loaded l = load(R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  ports: [{port: 80, targetPort: 8080}]
status:
  loadBalancer:
    ingress:
    - {ip: 203.0.113.1}
    - {ip: 203.0.113.2, ipMode: VIP}
    - {ip: 203.0.113.3, ipMode: Proxy}
)");
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    ASSERT_EQ(l.res.model.services.size(), 1u);
    EXPECT_EQ(l.res.model.services[0].lb_ips, (std::vector<uint32_t>{ip("203.0.113.1"), ip("203.0.113.2")}));
    EXPECT_TRUE(has_notice(l.res, "203.0.113.3")) << all(l.res.notices);
}

TEST_F(Semantics, V1beta1SlicesAreReadClusterScopedObjectsNamedWithoutANamespace) {
    Loaded l = load(std::string(kService) + slice(ep("10.244.1.1", "{ready: true}", "  topology: {kubernetes.io/hostname: n1}\n"),
                                                  "discovery.k8s.io/v1beta1") +
                    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: ingress-nginx}\n");
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    EXPECT_EQ(chosen_ips(*l.port), (std::vector<uint32_t>{ip("10.244.1.1")}));
    EXPECT_TRUE(has_notice(l.res, "ClusterRole ingress-nginx:")) << all(l.res.notices);
    EXPECT_FALSE(has_notice(l.res, "default/ingress-nginx")) << all(l.res.notices);
}

TEST_F(Semantics, AnEndpointInTwoSlicesCountsOnceWithItsMostUsableConditions) {
    Loaded l = load(std::string(kService) + slice(ep("10.244.1.1", "{ready: false, serving: true, terminating: true}")) +
                    slice(ep("10.244.1.1", "{ready: true}"), "discovery.k8s.io/v1", "web-2"));
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    ASSERT_EQ(l.port->endpoints.size(), 1u);
    EXPECT_TRUE(l.port->endpoints[0].ready);
}

TEST_F(Semantics, ASliceWithoutItsServiceIsIgnored) {
    Loaded l = load(std::string(kService) + slice(ep("10.244.1.1", "{ready: true}")) +
                    slice(ep("10.244.9.9", "{ready: true}"), "discovery.k8s.io/v1", "gone-1", "gone"));
    ASSERT_TRUE(l.res.ok()) << all(l.res.errors);
    EXPECT_EQ(l.res.model.services.size(), 1u);
    EXPECT_EQ(chosen_ips(*l.port), (std::vector<uint32_t>{ip("10.244.1.1")}));
}

// Found by fuzz_loader: an affinity timeout without ClientIP affinity (which the API server
// refuses) was kept, so one Service had two Models depending on a field kube-proxy ignores.
TEST_F(Semantics, AnAffinityTimeoutWithoutClientIpAffinityChangesNothing) {
    Loaded plain = load(kService);
    Loaded with = load(std::string(kService) + "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n");
    ASSERT_TRUE(plain.res.ok() && with.res.ok()) << all(with.res.errors);
    EXPECT_EQ(with.res.model, plain.res.model);
    Loaded sticky = load(std::string(kService) +
                         "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n");
    ASSERT_TRUE(sticky.res.ok()) << all(sticky.res.errors);
    EXPECT_EQ(sticky.res.model.services.at(0).affinity_timeout_s, 600u);
    Loaded bad = load(std::string(kService) + "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}\n");
    EXPECT_FALSE(bad.res.ok()) << "still checked without ClientIP";
}

}  // namespace
}  // namespace nfgate::loader

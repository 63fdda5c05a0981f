#include <gtest/gtest.h>

#include <algorithm>

#include "control/loader/config_loader.hpp"
#include "tests/control/temp_config.hpp"

using namespace nfgate;
using nfgate::loader::load_config;
using nfgate::loader::LoadResult;

namespace {

const std::string kData = CONTROL_TEST_DATA;

uint32_t ip(const char* s) {
    uint32_t v = 0;
    EXPECT_TRUE(parse_ipv4(s, v)) << s;
    return v;
}

const Service* find(const Model& m, const std::string& ns, const std::string& name) {
    for (const auto& s : m.services)
        if (s.ns == ns && s.name == name) return &s;
    return nullptr;
}

const ServicePort* port_named(const Service& s, const std::string& name, Proto proto) {
    for (const auto& p : s.ports)
        if (p.name == name && p.proto == proto) return &p;
    return nullptr;
}

std::string all(const std::vector<loader::Diag>& diags) {
    std::string out;
    for (const auto& d : diags) out += d.str() + "\n";
    return out;
}

class ValidCluster : public ::testing::Test {
protected:
    void SetUp() override {
        res = load_config(kData + "/valid/gateway.yaml");
        ASSERT_TRUE(res.ok()) << all(res.errors);
    }
    LoadResult res;
};

TEST_F(ValidCluster, GatewayFile) {
    const Model& m = res.model;
    EXPECT_EQ(m.dataplane, DataplaneKind::kernel);
    EXPECT_EQ(m.node_addresses, (std::vector<uint32_t>{ip("192.0.2.1"), ip("192.0.2.2")}));
    ASSERT_EQ(m.cluster_cidrs.size(), 1u);
    EXPECT_EQ(cidr_to_string(m.cluster_cidrs[0]), "10.244.0.0/16");
    ASSERT_EQ(m.service_cidrs.size(), 1u);
    EXPECT_EQ(cidr_to_string(m.service_cidrs[0]), "10.96.0.0/16");
    EXPECT_TRUE(m.masquerade.egress);
    EXPECT_FALSE(m.masquerade.all);
    ASSERT_EQ(m.masquerade.non_masquerade_cidrs.size(), 2u);
    EXPECT_EQ(cidr_to_string(m.masquerade.non_masquerade_cidrs[1]), "198.51.100.0/24");
    EXPECT_EQ(m.max_flows, 65536u);
    EXPECT_EQ(m.node_port_min, 30000);
    EXPECT_EQ(m.node_port_max, 32767);
}

TEST_F(ValidCluster, ServicesAreSortedAndSkippedOnesAreAbsent) {
    std::vector<std::string> keys;
    for (const auto& s : res.model.services) keys.push_back(s.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"default/lb", "shop/dns", "shop/dual", "shop/web"}));
}

TEST_F(ValidCluster, NamedTargetPortResolvesThroughTheSlicePortOfTheSameName) {
    const Service* web = find(res.model, "shop", "web");
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->cluster_ips, std::vector<uint32_t>{ip("10.96.0.10")});
    EXPECT_TRUE(web->affinity_client_ip);
    EXPECT_EQ(web->affinity_timeout_s, 300u);
    const ServicePort* http = port_named(*web, "http", Proto::tcp);
    ASSERT_NE(http, nullptr);
    EXPECT_EQ(http->port, 80);
    EXPECT_EQ(http->node_port, 0);
    // Both slices merged, the duplicate 10.244.1.10 once, sorted, conditions kept (serving
    // absent: ready's value).
    std::vector<Endpoint> want = {
        {ip("10.244.1.10"), 8080, true, true},
        {ip("10.244.1.11"), 8080, true, true},
        {ip("10.244.1.12"), 8080, false, false},
        {ip("10.244.2.10"), 8080, true, true},
    };
    EXPECT_EQ(http->endpoints, want);
    EXPECT_EQ(http->ready_count(), 3u);
    const ServicePort* metrics = port_named(*web, "metrics", Proto::tcp);
    ASSERT_NE(metrics, nullptr);
    ASSERT_EQ(metrics->endpoints.size(), 4u);
    EXPECT_EQ(metrics->endpoints[0].port, 9090);
}

TEST_F(ValidCluster, NodePortsProtocolsAndEndpointPerProtocol) {
    const Service* dns = find(res.model, "shop", "dns");
    ASSERT_NE(dns, nullptr);
    const ServicePort* udp = port_named(*dns, "dns-udp", Proto::udp);
    const ServicePort* tcp = port_named(*dns, "dns-tcp", Proto::tcp);
    ASSERT_TRUE(udp && tcp);
    EXPECT_EQ(udp->node_port, 30053);
    EXPECT_EQ(tcp->node_port, 30054);
    EXPECT_EQ(udp->endpoints, (std::vector<Endpoint>{{ip("10.244.3.1"), 5353, true, true}}));
    EXPECT_EQ(tcp->endpoints, (std::vector<Endpoint>{{ip("10.244.3.1"), 5353, true, true}}));
}

TEST_F(ValidCluster, LoadBalancerFields) {
    const Service* lb = find(res.model, "default", "lb");
    ASSERT_NE(lb, nullptr) << "a Service without metadata.namespace is in default";
    EXPECT_EQ(lb->external_ips, std::vector<uint32_t>{ip("192.0.2.100")});
    EXPECT_EQ(lb->lb_ips, std::vector<uint32_t>{ip("203.0.113.7")});
    EXPECT_EQ(lb->external_traffic_policy, TrafficPolicy::local);
    ASSERT_EQ(lb->lb_source_ranges.size(), 1u);
    EXPECT_EQ(cidr_to_string(lb->lb_source_ranges[0]), "198.51.100.0/24");
    EXPECT_FALSE(lb->affinity_client_ip);
    EXPECT_EQ(lb->affinity_timeout_s, 10800u);
    ASSERT_EQ(lb->ports.size(), 1u);
    EXPECT_EQ(lb->ports[0].proto, Proto::tcp) << "protocol defaults to TCP";
    EXPECT_EQ(lb->ports[0].node_port, 31443);
    EXPECT_EQ(lb->ports[0].endpoints,
              (std::vector<Endpoint>{{ip("10.244.4.1"), 8443, true, true}, {ip("10.244.4.2"), 8443, false, false}}));
}

TEST_F(ValidCluster, DualStackKeepsTheIpv4ClusterIp) {
    const Service* dual = find(res.model, "shop", "dual");
    ASSERT_NE(dual, nullptr);
    EXPECT_EQ(dual->cluster_ips, std::vector<uint32_t>{ip("10.96.0.20")});
    ASSERT_EQ(dual->ports.size(), 1u);
    EXPECT_TRUE(dual->ports[0].endpoints.empty()) << "no slices: no endpoints";
}

TEST_F(ValidCluster, SkippedObjectsBecomeNotices) {
    auto has = [&](const std::string& object, const std::string& text) {
        return std::any_of(res.notices.begin(), res.notices.end(), [&](const loader::Diag& d) {
            return d.object == object && d.message.find(text) != std::string::npos;
        });
    };
    EXPECT_EQ(res.notices.size(), 5u) << all(res.notices);
    EXPECT_TRUE(has("ConfigMap shop/settings", "skipped: v1 ConfigMap")) << all(res.notices);
    EXPECT_TRUE(has("Service shop/headless", "headless")) << all(res.notices);
    EXPECT_TRUE(has("Service shop/ext", "ExternalName")) << all(res.notices);
    EXPECT_TRUE(has("EndpointSlice shop/web-v6", "addressType IPv6")) << all(res.notices);
    EXPECT_TRUE(has("Service shop/dual", "IPv6 clusterIP fd00::20")) << all(res.notices);
    for (const auto& d : res.notices) EXPECT_GT(d.line, 0) << d.str();
}

TEST(JsonList, LoadsTheSameModelAsTheYamlDocuments) {
    LoadResult yaml = load_config(kData + "/valid/gateway.yaml");
    LoadResult json = load_config(kData + "/json/gateway.yaml");
    ASSERT_TRUE(json.ok()) << all(json.errors);
    ASSERT_TRUE(yaml.ok()) << all(yaml.errors);
    EXPECT_EQ(json.model.services.size(), 4u);
    EXPECT_TRUE(json.model == yaml.model);
    EXPECT_EQ(json.notices.size(), yaml.notices.size());
}

TEST(NodePortRange, IsConfigurable) {
    testsupport::TempConfig cfg;
    std::string svc =
        "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n}\nspec:\n  type: NodePort\n"
        "  clusterIP: 10.96.0.1\n  ports:\n  - {port: 80, nodePort: 8080}\n";
    cfg.write("svc.yaml", svc);
    std::string gw = cfg.write("gw.yaml", "nodePortRange: 8000-8999\nmanifests: [svc.yaml]\n");
    LoadResult res = load_config(gw);
    ASSERT_TRUE(res.ok()) << all(res.errors);
    EXPECT_EQ(res.model.node_port_min, 8000);
    EXPECT_EQ(res.model.node_port_max, 8999);
    ASSERT_EQ(res.model.services.size(), 1u);
    EXPECT_EQ(res.model.services[0].ports[0].node_port, 8080);

    cfg.write("gw.yaml", "manifests: [svc.yaml]\n");
    LoadResult dflt = load_config(gw);
    ASSERT_EQ(dflt.errors.size(), 1u) << all(dflt.errors);
    EXPECT_EQ(dflt.errors[0].field, "spec.ports[0].nodePort");
    EXPECT_TRUE(dflt.model.services.empty()) << "a bad config loads nothing";
}

TEST(Manifests, DirectoryFilesLoadInNameOrderAndOtherFilesAreIgnored) {
    testsupport::TempConfig cfg;
    auto svc = [](const char* name, const char* ip) {
        return std::string("apiVersion: v1\nkind: Service\nmetadata: {name: ") + name +
               "}\nspec:\n  clusterIP: " + ip + "\n  ports: [{port: 80}]\n";
    };
    cfg.write("m/b.yml", svc("b", "10.96.0.2"));
    cfg.write("m/a.json",
              "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"a\"},"
              " \"spec\": {\"clusterIP\": \"10.96.0.1\", \"ports\": [{\"port\": 80}]}}\n");
    cfg.write("m/README.md", "not yaml: [\n");
    std::string gw = cfg.write("gw.yaml", "manifests: m\n");
    LoadResult res = load_config(gw);
    ASSERT_TRUE(res.ok()) << all(res.errors);
    ASSERT_EQ(res.model.services.size(), 2u);
    EXPECT_EQ(res.model.services[0].key(), "default/a");
    EXPECT_EQ(res.model.services[1].key(), "default/b");
}

TEST(Options, DataplaneOverrideReplacesTheFileValue) {
    testsupport::TempConfig cfg;
    std::string gw = cfg.write("gw.yaml",
                               "dataplane: dpdk\ninterfaces:\n  - {name: ext, device: net_null0, address: 192.0.2.1/24}\n");
    LoadResult as_file = load_config(gw);
    ASSERT_TRUE(as_file.ok()) << all(as_file.errors);
    EXPECT_EQ(as_file.model.dataplane, DataplaneKind::dpdk);
    LoadResult overridden = load_config(gw, loader::LoadOptions{DataplaneKind::kernel});
    ASSERT_TRUE(overridden.ok());
    EXPECT_EQ(overridden.model.dataplane, DataplaneKind::kernel);
}

TEST(Manifests, ApiServerListKindsAndRepeatedAddresses) {
    testsupport::TempConfig cfg;
    cfg.write("m.json",
              "{\"apiVersion\": \"v1\", \"kind\": \"ServiceList\", \"items\": [{\"apiVersion\": \"v1\","
              " \"kind\": \"Service\", \"metadata\": {\"name\": \"a\", \"namespace\": \"n\"}, \"spec\": {"
              "\"type\": \"LoadBalancer\", \"clusterIP\": \"10.96.0.1\", \"externalIPs\": [\"192.0.2.9\","
              " \"192.0.2.9\", \"10.96.0.1\"], \"ports\": [{\"port\": 80}]}, \"status\": {\"loadBalancer\":"
              " {\"ingress\": [{\"ip\": \"192.0.2.9\"}, {\"ip\": \"192.0.2.10\"}]}}}]}\n");
    std::string gw = cfg.write("gw.yaml", "manifests: [m.json]\n");
    LoadResult res = load_config(gw);
    ASSERT_TRUE(res.ok()) << all(res.errors);
    ASSERT_EQ(res.model.services.size(), 1u);
    const Service& s = res.model.services[0];
    EXPECT_EQ(s.cluster_ips, std::vector<uint32_t>{ip("10.96.0.1")});
    EXPECT_EQ(s.external_ips, std::vector<uint32_t>{ip("192.0.2.9")});
    EXPECT_EQ(s.lb_ips, std::vector<uint32_t>{ip("192.0.2.10")});
}

TEST(GeneratedCluster, LoadsWithEveryServiceAndEndpoint) {
    testsupport::TempConfig cfg;
    std::string cmd = "python3 " + std::string(GEN_CLUSTER) + " --services 120 --endpoints 3 --out " + cfg.dir();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    LoadResult res = load_config(cfg.path("gateway.yaml"));
    ASSERT_TRUE(res.ok()) << all(res.errors);
    ASSERT_EQ(res.model.services.size(), 120u);
    size_t node_ports = 0;
    for (const auto& s : res.model.services)
        for (const auto& p : s.ports) {
            EXPECT_EQ(p.endpoints.size(), 3u) << s.key() << " " << p.name;
            node_ports += p.node_port != 0;
        }
    EXPECT_GT(node_ports, 0u);
}

}  // namespace

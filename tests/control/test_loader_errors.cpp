// Every class of configuration error, with the exact shape a user sees:
// "file:line: object: field: message", the message saying what would be valid.
#include <gtest/gtest.h>

#include "control/loader/config_loader.hpp"
#include "tests/control/temp_config.hpp"

using nfgate::loader::Diag;
using nfgate::loader::load_config;
using nfgate::loader::LoadOptions;
using nfgate::loader::LoadResult;
using nfgate::testsupport::TempConfig;

namespace {

std::string all(const std::vector<Diag>& diags) {
    std::string out;
    for (const auto& d : diags) out += d.str() + "\n";
    return out;
}

class Errors : public ::testing::Test {
protected:
    // Loads a gateway file (plus `manifests: [m.yaml]` when a manifest is given).
    LoadResult load(const std::string& gateway, const std::string& manifest = "") {
        std::string gw = gateway;
        if (!manifest.empty()) {
            cfg.write("m.yaml", manifest);
            gw += "manifests: [m.yaml]\n";
        }
        gw_path = cfg.write("gw.yaml", gw);
        m_path = cfg.path("m.yaml");
        return load_config(gw_path);
    }
    // Asserts exactly one error and returns it.
    Diag only_error(const LoadResult& res) {
        EXPECT_EQ(res.errors.size(), 1u) << all(res.errors);
        EXPECT_TRUE(res.model == nfgate::Model{}) << "a bad config loads nothing";
        return res.errors.empty() ? Diag{} : res.errors[0];
    }
    void expect(const Diag& d, const std::string& file, int line, const std::string& object, const std::string& field,
                const std::string& message) {
        EXPECT_EQ(d.file, file);
        EXPECT_EQ(d.line, line);
        EXPECT_EQ(d.object, object);
        EXPECT_EQ(d.field, field);
        EXPECT_EQ(d.message, message);
    }

    TempConfig cfg;
    std::string gw_path, m_path;
};

const std::string kGateway = "serviceCIDRs: [10.96.0.0/16]\n";

std::string service(const std::string& name, const std::string& spec) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\n  namespace: ns\nspec:\n" + spec;
}

TEST_F(Errors, DiagStrJoinsTheParts) {
    Diag d{"gw.yaml", 3, "gateway", "workers", "0 is out of range (want 1-127)"};
    EXPECT_EQ(d.str(), "gw.yaml:3: gateway: workers: 0 is out of range (want 1-127)");
    Diag no_field{"m.yaml", 7, "", "", "malformed YAML: x"};
    EXPECT_EQ(no_field.str(), "m.yaml:7: malformed YAML: x");
}

TEST_F(Errors, MalformedYamlNamesFileAndLine) {
    auto res = load(kGateway, "apiVersion: v1\nkind: Service\nspec: [1, 2\n");
    Diag d = only_error(res);
    EXPECT_EQ(d.file, m_path);
    EXPECT_GE(d.line, 3);
    EXPECT_EQ(d.message.rfind("malformed YAML: ", 0), 0u) << d.message;
}

TEST_F(Errors, UnknownGatewayKeyListsTheValidOnes) {
    Diag d = only_error(load("workerz: 2\n"));
    expect(d, gw_path, 1, "gateway", "workerz",
           "unknown key \"workerz\" (valid keys: dataplane, eal, workers, nodeAddresses, clusterCIDRs, serviceCIDRs, "
           "masquerade, interfaces, routes, conntrack, nodePortRange, manifests, control, bgp, exceptionPath, zone, kubernetes)");
    Diag nested = only_error(load("masquerade:\n  egres: true\n"));
    expect(nested, gw_path, 2, "masquerade", "masquerade.egres",
           "unknown key \"egres\" (valid keys: egress, nonMasqueradeCIDRs, all)");
}

TEST_F(Errors, WrongTypesAndWorkers) {
    expect(only_error(load("workers: 0\n")), gw_path, 1, "workers", "workers", "0 is out of range (want 1-127)");
    expect(only_error(load("workers: many\n")), gw_path, 1, "workers", "workers",
           "want an integer 1-127, got \"many\"");
    expect(only_error(load("nodeAddresses: 192.0.2.1\n")), gw_path, 1, "nodeAddresses", "nodeAddresses",
           "want a list, got \"192.0.2.1\"");
    expect(only_error(load("masquerade: [egress]\n")), gw_path, 1, "masquerade", "masquerade",
           "want a mapping (key: value), got a list");
    expect(only_error(load("masquerade: {all: yes}\n")), gw_path, 1, "masquerade", "masquerade.all",
           "want true or false, got \"yes\"");
    expect(only_error(load("dataplane: xdp\n")), gw_path, 1, "dataplane", "dataplane",
           "\"xdp\" is not valid (want one of: kernel, dpdk)");
}

TEST_F(Errors, BadAddressesAndCidrs) {
    expect(only_error(load("nodeAddresses: [192.0.2.1, 192.0.2.300]\n")), gw_path, 1, "nodeAddresses",
           "nodeAddresses[1]", "\"192.0.2.300\" is not an IPv4 address (want a.b.c.d, e.g. 192.0.2.1)");
    expect(only_error(load("clusterCIDRs:\n  - 10.244.1.0/16\n")), gw_path, 2, "clusterCIDRs", "clusterCIDRs[0]",
           "\"10.244.1.0/16\" has host bits set (want 10.244.0.0/16)");
    expect(only_error(load("serviceCIDRs: [10.96.0.0]\n")), gw_path, 1, "serviceCIDRs", "serviceCIDRs[0]",
           "\"10.96.0.0\" is not an IPv4 CIDR (want a.b.c.d/len, e.g. 10.244.0.0/16)");
}

TEST_F(Errors, DpdkSections) {
    expect(only_error(load("dataplane: dpdk\n")), gw_path, 1, "interfaces", "interfaces",
           "dataplane dpdk needs at least one interface (want a list of {name, device, address})");
    auto res = load("dataplane: dpdk\ninterfaces:\n  - {name: ext, address: 192.0.2.1/24}\n"
                    "routes:\n  - {to: 0.0.0.0/0, via: 198.51.100.1}\n");
    ASSERT_EQ(res.errors.size(), 2u) << all(res.errors);
    expect(res.errors[0], gw_path, 3, "interfaces", "interfaces[0].device",
           "missing (dataplane dpdk needs DPDK devargs, e.g. \"net_tap0,iface=nfg-ext\")");
    expect(res.errors[1], gw_path, 5, "routes", "routes[0].via",
           "198.51.100.1 is not inside any interface subnet (want a next hop in: ext 192.0.2.0/24)");
    expect(only_error(load("interfaces:\n  - {name: ext, address: 192.0.2.1}\n")), gw_path, 2, "interfaces",
           "interfaces[0].address",
           "\"192.0.2.1\" is not an IPv4 address with prefix length (want a.b.c.d/len, e.g. 192.0.2.1/24)");
}

TEST_F(Errors, DataplaneOverrideAppliesTheDpdkChecks) {
    std::string gw = cfg.write("gw.yaml", "dataplane: kernel\n");
    EXPECT_TRUE(load_config(gw).ok());
    auto res = load_config(gw, LoadOptions{nfgate::DataplaneKind::dpdk});
    ASSERT_EQ(res.errors.size(), 1u) << all(res.errors);
    EXPECT_EQ(res.errors[0].field, "interfaces");
}

TEST_F(Errors, NodePortRangeSyntax) {
    expect(only_error(load("nodePortRange: \"32767-30000\"\n")), gw_path, 1, "nodePortRange", "nodePortRange",
           "\"32767-30000\" is not a port range (want FIRST-LAST within 1-65535, e.g. 30000-32767)");
}

TEST_F(Errors, MissingManifestPath) {
    auto res = load("manifests:\n  - here.yaml\n  - nowhere/\n");
    ASSERT_EQ(res.errors.size(), 2u) << all(res.errors);
    EXPECT_EQ(res.errors[1].line, 3);
    EXPECT_EQ(res.errors[1].object, "manifests");
    EXPECT_EQ(res.errors[1].field, "manifests[1]");
    EXPECT_EQ(res.errors[1].message.rfind("\"nowhere/\" does not exist (looked for " + cfg.dir(), 0), 0u)
        << res.errors[1].message;
}

TEST_F(Errors, PortOutOfRange) {
    auto res = load(kGateway, service("s", "  clusterIP: 10.96.0.1\n  ports:\n  - {port: 70000}\n"));
    expect(only_error(res), m_path, 9, "Service ns/s", "spec.ports[0].port", "70000 is out of range (want 1-65535)");
}

TEST_F(Errors, NodePortOutsideTheRangeOrOnAClusterIpService) {
    auto res = load(kGateway + "nodePortRange: 30000-30099\n",
                    service("s", "  type: NodePort\n  clusterIP: 10.96.0.1\n  ports:\n  - port: 80\n    nodePort: 30100\n"));
    expect(only_error(res), m_path, 11, "Service ns/s", "spec.ports[0].nodePort",
           "30100 is outside nodePortRange 30000-30099 (want a port in that range, or widen nodePortRange)");
    auto cip = load(kGateway, service("s", "  clusterIP: 10.96.0.1\n  ports:\n  - {port: 80, nodePort: 30001}\n"));
    expect(only_error(cip), m_path, 9, "Service ns/s", "spec.ports[0].nodePort",
           "set on a ClusterIP Service (want type NodePort or LoadBalancer, or no nodePort)");
}

TEST_F(Errors, SameVipPortProtocolInTwoServicesNamesBoth) {
    std::string m = service("a", "  clusterIP: 10.96.0.1\n  ports:\n  - {port: 80}\n") + "---\n" +
                    service("b", "  clusterIP: 10.96.0.2\n  externalIPs: [10.96.0.1]\n  ports:\n  - {port: 80}\n");
    auto res = load(kGateway, m);
    expect(only_error(res), m_path, 20, "Service ns/b", "spec.ports[0].port",
           "10.96.0.1:80/TCP (externalIP) is also claimed by Service ns/a (" + m_path +
               ":9; want each VIP:port/protocol in one Service only)");
    // The same address and port over another protocol is a different VIP.
    std::string udp = service("a", "  clusterIP: 10.96.0.1\n  ports:\n  - {port: 80}\n") + "---\n" +
                      service("b", "  clusterIP: 10.96.0.2\n  externalIPs: [10.96.0.1]\n  ports:\n"
                                   "  - {port: 80, protocol: UDP}\n");
    EXPECT_TRUE(load(kGateway, udp).ok());
}

TEST_F(Errors, VipOnANodeAddressClashesWithANodePort) {
    std::string m =
        service("a", "  type: NodePort\n  clusterIP: 10.96.0.1\n  ports:\n  - {port: 80, nodePort: 30080}\n") +
        "---\n" + service("b", "  clusterIP: 10.96.0.2\n  externalIPs: [192.0.2.1]\n  ports:\n  - {port: 30080}\n");
    auto res = load(kGateway + "nodeAddresses: [192.0.2.1]\n", m);
    expect(only_error(res), m_path, 21, "Service ns/b", "spec.ports[0].port",
           "192.0.2.1:30080/TCP (externalIP) is also claimed by Service ns/a as a nodePort on a node address (" +
               m_path + ":10; want each VIP:port/protocol in one Service only)");
}

TEST_F(Errors, SameNodePortTwice) {
    std::string m =
        service("a", "  type: NodePort\n  clusterIP: 10.96.0.1\n  ports:\n  - {port: 80, nodePort: 30080}\n") +
        "---\n" +
        service("b", "  type: NodePort\n  clusterIP: 10.96.0.2\n  ports:\n  - {port: 81, nodePort: 30080}\n");
    auto res = load(kGateway, m);
    expect(only_error(res), m_path, 21, "Service ns/b", "spec.ports[0].nodePort",
           "30080/TCP is also the nodePort of Service ns/a (" + m_path + ":10; want each nodePort/protocol used once)");
}

TEST_F(Errors, NamedTargetPortWithoutASlicePort) {
    std::string m = service("web", "  clusterIP: 10.96.0.1\n  ports:\n  - {name: http, port: 80, targetPort: web}\n") +
                    "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
                    "  namespace: ns\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\n"
                    "ports: [{name: metrics, port: 9090}]\nendpoints: [{addresses: [10.244.0.5]}]\n";
    expect(only_error(load(kGateway, m)), m_path, 9, "Service ns/web", "spec.ports[0].targetPort",
           "named targetPort \"web\" is not resolved by any EndpointSlice of this Service (want an EndpointSlice "
           "port named \"http\" with protocol TCP; the slices have: metrics/TCP)");
}

TEST_F(Errors, NamedTargetPortWithoutSlicesIsFine) {
    auto res = load(kGateway, service("web", "  clusterIP: 10.96.0.1\n  ports:\n  - {name: http, port: 80, targetPort: web}\n"));
    ASSERT_TRUE(res.ok()) << all(res.errors);
    EXPECT_TRUE(res.model.services[0].ports[0].endpoints.empty());
}

TEST_F(Errors, ServiceFieldValues) {
    expect(only_error(load(kGateway, service("s", "  clusterIP: 10.97.0.1\n  ports: [{port: 80}]\n"))), m_path, 7,
           "Service ns/s", "spec.clusterIP", "10.97.0.1 is outside serviceCIDRs (want an address in 10.96.0.0/16)");
    expect(only_error(load(kGateway, service("s", "  clusterIP: 10.96.0.1\n  ports: [{port: 80, protocol: ICMP}]\n"))),
           m_path, 8, "Service ns/s", "spec.ports[0].protocol", "\"ICMP\" is not valid (want one of: TCP, UDP, SCTP)");
    expect(only_error(load(kGateway, service("s", "  clusterIP: 10.96.0.1\n  ports: [{port: 80, targetPort: Web_1}]\n"))),
           m_path, 8, "Service ns/s", "spec.ports[0].targetPort",
           "\"Web_1\" is not a port (want a number 1-65535 or a port name: 1-15 lowercase letters, digits and '-', "
           "with at least one letter)");
    expect(only_error(load(kGateway, service("s", "  type: Balanced\n  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n"))),
           m_path, 7, "Service ns/s", "spec.type",
           "\"Balanced\" is not valid (want one of: ClusterIP, NodePort, LoadBalancer, ExternalName)");
    expect(only_error(load(kGateway, service("s", "  ports: [{port: 80}]\n"))), m_path, 7, "Service ns/s",
           "spec.clusterIP",
           "missing (nfgate does not allocate ClusterIPs: want an address from serviceCIDRs, as `kubectl get "
           "services -o yaml` shows it)");
    expect(only_error(load(kGateway, service("s", "  clusterIP: 10.96.0.1\n  ports:\n  - {port: 80}\n  - {name: b, port: 81}\n"))),
           m_path, 9, "Service ns/s", "spec.ports[0].name", "missing (a Service with several ports must name each one)");
}

TEST_F(Errors, DuplicateServiceDefinition) {
    std::string one = service("s", "  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n");
    auto res = load(kGateway, one + "---\n" + one);
    expect(only_error(res), m_path, 10, "Service ns/s", "metadata.name",
           "defined twice (first at " + m_path + ":1; want one object per namespace/name)");
}

TEST_F(Errors, NotAKubernetesObject) {
    // Not a Service or an EndpointSlice, and no namespace: named as a cluster-scoped object.
    expect(only_error(load(kGateway, "metadata: {name: x}\n")), m_path, 1, "object x", "kind",
           "missing (want a Kubernetes object: apiVersion v1 kind Service, or apiVersion discovery.k8s.io/v1 kind "
           "EndpointSlice)");
}

TEST_F(Errors, EveryErrorIsReportedAtOnce) {
    std::string m = service("a", "  clusterIP: 10.96.0.1\n  ports: [{port: 0}]\n") + "---\n" +
                    service("b", "  clusterIP: 10.96.0.999\n  ports: [{port: 80}]\n") + "---\n" +
                    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: a-1\n  namespace: ns\n"
                    "  labels: {kubernetes.io/service-name: a}\naddressType: IPv4\n"
                    "endpoints: [{addresses: [10.244.0.300]}]\n";
    auto res = load("workers: 0\nnodeAddresses: [x]\n" + kGateway, m);
    ASSERT_EQ(res.errors.size(), 5u) << all(res.errors);
    std::vector<std::string> fields;
    for (const auto& d : res.errors) fields.push_back(d.object + " " + d.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"workers workers", "nodeAddresses nodeAddresses[0]",
                                                "Service ns/a spec.ports[0].port", "Service ns/b spec.clusterIP",
                                                "EndpointSlice ns/a-1 endpoints[0].addresses[0]"}));
    EXPECT_TRUE(res.model == nfgate::Model{});
}

}  // namespace

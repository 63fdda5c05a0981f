// Dual stack as the loader reads it: IPv6 in the gateway file's addresses and CIDRs, Services
// with clusterIPs of both families, IPv6 externalIPs and ingress IPs, EndpointSlices of
// addressType IPv6, and what is left out (with a notice) when the gateway has no IPv6 address.
#include <gtest/gtest.h>

#include <algorithm>

#include "control/loader/config_loader.hpp"
#include "model/endpoint_choice.hpp"
#include "tests/control/temp_config.hpp"

namespace nfgate::loader {
namespace {

using testsupport::TempConfig;

Ip6 ip6(const char* s) {
    Ip6 v;
    EXPECT_TRUE(parse_ipv6(s, v)) << s;
    return v;
}

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

bool has(const std::vector<Diag>& diags, const std::string& text) {
    return std::any_of(diags.begin(), diags.end(), [&](const Diag& d) { return d.str().find(text) != std::string::npos; });
}

const char* kGateway = R"(nodeAddresses: [192.0.2.1, "2001:db8:1::1"]
clusterCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
serviceCIDRs: [10.96.0.0/16, "fd00:10:96::/112"]
masquerade:
  nonMasqueradeCIDRs: [10.0.0.0/8, "fd00::/8"]
manifests: [m.yaml]
)";

const char* kDualService = R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10, "fd00:10:96::10"]
  externalIPs: [203.0.113.20, "2001:db8:20::20"]
  loadBalancerSourceRanges: [198.51.100.0/24, "2001:db8:100::/48"]
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.10}, {ip: "2001:db8:10::10"}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v4, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {ready: true}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v6, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints:
- addresses: ["fd00:10:244:1::10"]
  conditions: {ready: true}
- addresses: ["fd00:10:244:1::11"]
  conditions: {ready: false}
)";

class DualStack : public ::testing::Test {
protected:
    LoadResult load(const std::string& manifest, const std::string& gateway = kGateway) {
        cfg.write("m.yaml", manifest);
        return load_config(cfg.write("gw.yaml", gateway));
    }
    TempConfig cfg;
};

TEST_F(DualStack, GatewayFileTakesBothFamilies) {
    LoadResult r = load("");
    ASSERT_TRUE(r.ok()) << all(r.errors);
    const Model& m = r.model;
    EXPECT_EQ(m.node_addresses, (std::vector<uint32_t>{ip("192.0.2.1")}));
    EXPECT_EQ(m.node_addresses6, (std::vector<Ip6>{ip6("2001:db8:1::1")}));
    ASSERT_EQ(m.cluster_cidrs6.size(), 1u);
    EXPECT_EQ(cidr6_to_string(m.cluster_cidrs6[0]), "fd00:10:244::/56");
    EXPECT_TRUE(m.in_cluster(ip6("fd00:10:244:ff::1")));
    EXPECT_FALSE(m.in_cluster(ip6("fd00:10:245::1")));
    ASSERT_EQ(m.service_cidrs6.size(), 1u);
    ASSERT_EQ(m.masquerade.non_masquerade_cidrs6.size(), 1u);
    EXPECT_EQ(m.masquerade.non_masquerade_cidrs.size(), 1u);
    EXPECT_TRUE(m.has_ipv6());
}

TEST_F(DualStack, ADualStackServiceKeepsEachFamilyWithItsOwnEndpoints) {
    LoadResult r = load(kDualService);
    ASSERT_TRUE(r.ok()) << all(r.errors);
    ASSERT_EQ(r.model.services.size(), 1u);
    const Service& s = r.model.services[0];
    EXPECT_EQ(s.cluster_ips, (std::vector<uint32_t>{ip("10.96.0.10")}));
    EXPECT_EQ(s.cluster_ips6, (std::vector<Ip6>{ip6("fd00:10:96::10")}));
    EXPECT_EQ(s.external_ips6, (std::vector<Ip6>{ip6("2001:db8:20::20")}));
    EXPECT_EQ(s.lb_ips, (std::vector<uint32_t>{ip("203.0.113.10")}));
    EXPECT_EQ(s.lb_ips6, (std::vector<Ip6>{ip6("2001:db8:10::10")}));
    ASSERT_EQ(s.lb_source_ranges6.size(), 1u);
    EXPECT_EQ(cidr6_to_string(s.lb_source_ranges6[0]), "2001:db8:100::/48");
    ASSERT_EQ(s.ports.size(), 1u);
    const ServicePort& p = s.ports[0];
    ASSERT_EQ(p.endpoints.size(), 1u);
    EXPECT_EQ(p.endpoints[0].ip, ip("10.244.1.10"));
    ASSERT_EQ(p.endpoints6.size(), 2u);
    EXPECT_EQ(p.endpoints6[0].port, 8080);
    EXPECT_FALSE(has(r.notices, "not forwarded yet")) << "the kernel path serves both families";
    auto chosen = chosen_endpoints6(p);
    ASSERT_EQ(chosen.size(), 1u) << "only the ready IPv6 endpoint takes new connections";
    EXPECT_EQ(chosen[0].ip, ip6("fd00:10:244:1::10"));
}

TEST_F(DualStack, WithoutAnIPv6AddressTheIPv6HalfIsLeftOutWithNotices) {
    LoadResult r = load(kDualService, "nodeAddresses: [192.0.2.1]\nserviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n");
    ASSERT_TRUE(r.ok()) << all(r.errors);
    ASSERT_EQ(r.model.services.size(), 1u);
    const Service& s = r.model.services[0];
    EXPECT_EQ(s.cluster_ips.size(), 1u);
    EXPECT_TRUE(s.cluster_ips6.empty());
    EXPECT_TRUE(s.external_ips6.empty());
    EXPECT_TRUE(s.lb_ips6.empty());
    EXPECT_TRUE(s.ports[0].endpoints6.empty());
    EXPECT_TRUE(has(r.notices, "IPv6 clusterIP fd00:10:96::10 left out: the gateway has no IPv6 address")) << all(r.notices);
    EXPECT_TRUE(has(r.notices, "IPv6 externalIP 2001:db8:20::20 left out")) << all(r.notices);
    EXPECT_TRUE(has(r.notices, "skipped: addressType IPv6 and the gateway has no IPv6 address")) << all(r.notices);
}

TEST_F(DualStack, AnIPv6OnlyServiceIsServedOrSkippedByTheGatewaysFamilies) {
    const std::string v6only = R"(apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  ipFamilies: [IPv6]
  clusterIPs: ["fd00:10:96::a"]
  ports: [{name: dns, port: 53, protocol: UDP}]
)";
    LoadResult r = load(v6only);
    ASSERT_TRUE(r.ok()) << all(r.errors);
    ASSERT_EQ(r.model.services.size(), 1u);
    EXPECT_TRUE(r.model.services[0].cluster_ips.empty());
    EXPECT_EQ(r.model.services[0].cluster_ips6, (std::vector<Ip6>{ip6("fd00:10:96::a")}));
    r = load(v6only, "nodeAddresses: [192.0.2.1]\nmanifests: [m.yaml]\n");
    ASSERT_TRUE(r.ok()) << all(r.errors);
    EXPECT_TRUE(r.model.services.empty());
    EXPECT_TRUE(has(r.notices, "skipped: IPv6-only Service and the gateway has no IPv6 address")) << all(r.notices);
}

TEST_F(DualStack, MistakesAreNamedByField) {
    auto svc = [](const std::string& spec) {
        return "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n" + spec +
               "  ports: [{port: 80}]\n";
    };
    LoadResult r = load(svc("  clusterIPs: [\"fd00:10:97::1\"]\n"));
    EXPECT_TRUE(has(r.errors, "spec.clusterIPs[0]")) << all(r.errors);
    EXPECT_TRUE(has(r.errors, "fd00:10:97::1 is outside serviceCIDRs (want an address in fd00:10:96::/112)")) << all(r.errors);
    r = load(svc("  ipFamilies: [IPv6, IPv4]\n  clusterIPs: [10.96.0.10, \"fd00:10:96::10\"]\n"));
    EXPECT_TRUE(has(r.errors, "is not of ipFamilies[0] IPv6")) << all(r.errors);
    r = load(svc("  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4, IPv6]\n  clusterIPs: [10.96.0.10, \"fd00:10:96::10\"]\n"));
    EXPECT_TRUE(has(r.errors, "SingleStack with two ipFamilies")) << all(r.errors);
    r = load(svc("  ipFamilies: [IPv4, IPv5]\n  clusterIP: 10.96.0.10\n"));
    EXPECT_TRUE(has(r.errors, "spec.ipFamilies[1]")) << all(r.errors);
    r = load(svc("  clusterIPs: [\"fd00:10:96::zz\"]\n"));
    EXPECT_TRUE(has(r.errors, "is not an IPv6 address")) << all(r.errors);
    // An IPv4 address in an IPv6 slice.
    r = load(svc("  clusterIP: 10.96.0.10\n") +
             "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: w, namespace: shop, labels: "
             "{kubernetes.io/service-name: web}}\naddressType: IPv6\nendpoints: [{addresses: [10.244.1.1]}]\n");
    EXPECT_TRUE(has(r.errors, "is IPv4 in a slice of addressType IPv6")) << all(r.errors);
    // A VIP claimed by two Services is a clash in IPv6 as in IPv4.
    r = load(svc("  clusterIPs: [\"fd00:10:96::10\"]\n") +
             "---\napiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: shop}\nspec:\n  clusterIPs: "
             "[\"fd00:10:96::10\"]\n  ports: [{port: 80}]\n");
    EXPECT_TRUE(has(r.errors, "[fd00:10:96::10]:80/TCP (clusterIP) is also claimed by Service shop/")) << all(r.errors);
    // A bad host-bits CIDR and a route whose next hop is of the other family.
    r = load("", "clusterCIDRs: [\"fd00:10:244::1/56\"]\n");
    EXPECT_TRUE(has(r.errors, "has host bits set (want fd00:10:244::/56)")) << all(r.errors);
}

TEST_F(DualStack, InterfacesTakeAddressesOfBothFamilies) {
    const std::string dpdk = "dataplane: dpdk\neal: [--no-huge]\nmanifests: [m.yaml]\n";
    LoadResult r = load("", dpdk + R"(interfaces:
- {name: ext, device: net_null0, addresses: [192.0.2.1/24, "2001:db8:1::1/64"]}
- {name: pods, device: net_null1, address: "fd00:10:244::1/56", ipv6MTU: 1280}
routes:
- {to: 0.0.0.0/0, via: 192.0.2.254}
- {to: "::/0", via: "2001:db8:1::fe"}
)");
    ASSERT_TRUE(r.ok()) << all(r.errors);
    ASSERT_EQ(r.model.interfaces.size(), 2u);
    EXPECT_EQ(r.model.interfaces[0].address.addr, ip("192.0.2.1"));
    ASSERT_EQ(r.model.interfaces[0].addresses6.size(), 1u);
    EXPECT_EQ(r.model.interfaces[0].addresses6[0].len, 64);
    EXPECT_EQ(r.model.interfaces[1].address.addr, 0u) << "an IPv6-only interface";
    EXPECT_EQ(r.model.interfaces[0].ipv6_mtu, 1500) << "the default";
    EXPECT_EQ(r.model.interfaces[1].ipv6_mtu, 1280);
    ASSERT_EQ(r.model.routes6.size(), 1u);
    EXPECT_EQ(r.model.routes6[0].via, ip6("2001:db8:1::fe"));
    EXPECT_EQ(r.model.routes.size(), 1u);

    r = load("", dpdk + R"(interfaces:
- {name: ext, device: net_null0, addresses: [192.0.2.1/24, 198.51.100.1/24]}
routes:
- {to: "::/0", via: 192.0.2.254}
)");
    EXPECT_TRUE(has(r.errors, "a second IPv4 address")) << all(r.errors);
    EXPECT_TRUE(has(r.errors, "is not of the family of to")) << all(r.errors);
    r = load("", dpdk + R"(interfaces:
- {name: ext, device: net_null0, addresses: [192.0.2.1/24, "2001:db8:1::1/64"]}
routes:
- {to: 0.0.0.0/0, via: 192.0.2.254}
- {to: "2001:db8:9::/48", via: "2001:db8:2::fe"}
)");
    EXPECT_TRUE(has(r.errors, "routes[1].via")) << all(r.errors);
    EXPECT_TRUE(has(r.errors, "2001:db8:2::fe is not inside any interface subnet")) << all(r.errors);
    r = load("", dpdk + "interfaces:\n- {name: ext, device: net_null0}\n");
    EXPECT_TRUE(has(r.errors, "interfaces[0].address")) << all(r.errors);
    r = load("", dpdk + "interfaces:\n- {name: ext, device: net_null0, address: 192.0.2.1/24, ipv6MTU: 1000}\n");
    EXPECT_TRUE(has(r.errors, "interfaces[0].ipv6MTU")) << all(r.errors);
    EXPECT_TRUE(has(r.errors, "1000 is out of range (want 1280-65535)")) << all(r.errors);
}

}  // namespace
}  // namespace nfgate::loader

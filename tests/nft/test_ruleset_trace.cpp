// The kernel path's trace: the rendered ruleset walked as the kernel would for a connection's
// first packet (no kernel needed). Each case is a behaviour the kernel tests prove with traffic.
#include <gtest/gtest.h>

#include <algorithm>

#include "nft/nft_render.hpp"
#include "nft/ruleset_trace.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

using testing::all_features;
using testing::ep;
using testing::ip;

TraceResult run(const Model& m, uint8_t proto, const char* src, uint16_t sport, const char* dst, uint16_t dport) {
    return trace_ruleset(m, render(m), TracePacket{proto, ip(src), ip(dst), sport, dport});
}

bool mentions(const TraceResult& r, const std::string& text) {
    return std::any_of(r.steps.begin(), r.steps.end(),
                       [&](const TraceStep& s) { return s.detail.find(text) != std::string::npos; });
}

TEST(RulesetTrace, OutsideClientOfAClusterIpIsBalancedAndMasqueraded) {
    const TraceResult r = run(all_features(), 6, "203.0.113.50", 40000, "10.96.0.10", 80);
    EXPECT_EQ(r.verdict, "forward");
    EXPECT_EQ(r.service, "default/web");
    ASSERT_EQ(r.candidates.size(), 3u) << "a hash over the three ready endpoints";
    EXPECT_TRUE(std::find(r.candidates.begin(), r.candidates.end(), ep("10.244.1.5", 8080)) != r.candidates.end());
    ASSERT_TRUE(r.chosen) << "the hash is the kernel's: the endpoint can be named";
    EXPECT_TRUE(std::find(r.candidates.begin(), r.candidates.end(), *r.chosen) != r.candidates.end());
    EXPECT_TRUE(r.masquerade);
    EXPECT_TRUE(mentions(r, "goto endpoints-3-masq"));
}

TEST(RulesetTrace, PodClientKeepsItsAddress) {
    const TraceResult r = run(all_features(), 6, "10.244.9.9", 40000, "10.96.0.10", 80);
    EXPECT_EQ(r.verdict, "forward");
    EXPECT_FALSE(r.masquerade);
}

TEST(RulesetTrace, AffinityServiceListsItsEndpointsAsRandomAlternatives) {
    const TraceResult r = run(all_features(), 6, "203.0.113.50", 40000, "10.96.1.20", 443);
    EXPECT_EQ(r.verdict, "forward");
    EXPECT_EQ(r.service, "shop/cart");
    EXPECT_EQ(r.candidates, (std::vector<Endpoint>{ep("10.244.4.1", 8443), ep("10.244.4.3", 8443)}))
        << "ready endpoints only";
    EXPECT_TRUE(mentions(r, "remembers goes back to its endpoint"));
}

TEST(RulesetTrace, SourceRangesLocalPolicyAndRefusals) {
    const Model m = all_features();
    const TraceResult denied = run(m, 6, "203.0.113.50", 40000, "203.0.113.10", 443);
    EXPECT_EQ(denied.verdict, "drop") << "outside loadBalancerSourceRanges";
    const TraceResult allowed = run(m, 6, "198.51.100.9", 40000, "203.0.113.10", 443);
    EXPECT_EQ(allowed.verdict, "forward");
    EXPECT_FALSE(allowed.masquerade) << "externalTrafficPolicy: Local";
    const TraceResult idle = run(m, 17, "203.0.113.50", 40000, "10.96.1.40", 9000);
    EXPECT_EQ(idle.verdict, "reject");
    EXPECT_EQ(idle.reason, "ICMP port unreachable");
    const TraceResult idle_tcp = run(m, 6, "203.0.113.50", 40000, "10.96.1.40", 80);
    EXPECT_EQ(idle_tcp.verdict, "reject") << "an allocated ClusterIP on an unserved port";
    EXPECT_EQ(idle_tcp.reason, "TCP reset");
    const TraceResult unalloc = run(m, 6, "203.0.113.50", 40000, "10.96.99.99", 80);
    EXPECT_EQ(unalloc.verdict, "drop");
}

// IPv6: the packet is walked through the `ip6 nfgate` table the same model renders.
Ip6 v6(const char* s) {
    Ip6 a;
    EXPECT_TRUE(parse_ipv6(s, a)) << s;
    return a;
}

Model ipv6_model() {
    Model m;
    m.node_addresses = {ip("192.0.2.1")};
    m.node_addresses6 = {v6("2001:db8:1::1")};
    m.cluster_cidrs6 = {Cidr6{v6("fd00:10:244::"), 56}};
    m.service_cidrs6 = {Cidr6{v6("fd00:10:96::"), 112}};
    m.masquerade.non_masquerade_cidrs6 = {Cidr6{v6("fd00::"), 8}};
    Service web;
    web.ns = "shop";
    web.name = "web";
    web.cluster_ips6 = {v6("fd00:10:96::1")};
    ServicePort http{"http", Proto::tcp, 80, 30080, {}};
    http.endpoints6 = {{v6("fd00:10:244:1::10"), 8080, true}, {v6("fd00:10:244:2::11"), 8080, true}};
    web.ports = {http};
    Service idle = web;
    idle.name = "idle";
    idle.cluster_ips6 = {v6("fd00:10:96::2")};
    idle.ports = {ServicePort{"http", Proto::tcp, 80, 0, {}}};
    m.services = {web, idle};
    return m;
}

TraceResult run6(const Model& m, uint8_t proto, const char* src, uint16_t sport, const char* dst, uint16_t dport) {
    TracePacket p{proto, 0, 0, sport, dport};
    p.ipv6 = true;
    p.src6 = v6(src);
    p.dst6 = v6(dst);
    return trace_ruleset(m, render(m, false, Family::ip6), p);
}

TEST(RulesetTrace6, OutsideClientOfAClusterIpIsBalancedAndMasqueraded) {
    const Model m = ipv6_model();
    const TraceResult r = run6(m, 6, "2001:db8::7", 40000, "fd00:10:96::1", 80);
    EXPECT_EQ(r.verdict, "forward") << r.reason;
    EXPECT_EQ(r.service, "shop/web");
    EXPECT_TRUE(r.candidates.empty()) << "nothing IPv4 in an IPv6 trace";
    ASSERT_EQ(r.candidates6.size(), 2u);
    ASSERT_TRUE(r.chosen6) << "the kernel's hash over the IPv6 address names the endpoint";
    EXPECT_TRUE(std::find(r.candidates6.begin(), r.candidates6.end(), *r.chosen6) != r.candidates6.end());
    EXPECT_EQ(r.chosen6->port, 8080);
    EXPECT_TRUE(r.masquerade);
    // The choice depends on the client's address and port, as jhash does: both endpoints appear.
    std::vector<Endpoint6> seen;
    for (uint16_t sport = 40000; sport < 40032; ++sport) {
        const TraceResult t = run6(m, 6, "2001:db8::7", sport, "fd00:10:96::1", 80);
        ASSERT_TRUE(t.chosen6);
        if (std::find(seen.begin(), seen.end(), *t.chosen6) == seen.end()) seen.push_back(*t.chosen6);
    }
    EXPECT_EQ(seen.size(), 2u);
}

TEST(RulesetTrace6, PodClientKeepsItsAddressAndNodePortIsServed) {
    const Model m = ipv6_model();
    const TraceResult pod = run6(m, 6, "fd00:10:244:3::5", 40000, "fd00:10:96::1", 80);
    EXPECT_EQ(pod.verdict, "forward");
    EXPECT_FALSE(pod.masquerade);
    const TraceResult np = run6(m, 6, "2001:db8::7", 40000, "2001:db8:1::1", 30080);
    EXPECT_EQ(np.verdict, "forward") << np.reason;
    EXPECT_EQ(np.service, "shop/web");
    ASSERT_TRUE(np.chosen6);
    EXPECT_EQ(np.chosen6->port, 8080);
    EXPECT_TRUE(np.masquerade);
}

TEST(RulesetTrace6, NoEndpointsRejectAndUnallocatedDrops) {
    const Model m = ipv6_model();
    const TraceResult idle = run6(m, 6, "2001:db8::7", 40000, "fd00:10:96::2", 80);
    EXPECT_EQ(idle.verdict, "reject");
    EXPECT_EQ(idle.reason, "TCP reset");
    const TraceResult unalloc = run6(m, 6, "2001:db8::7", 40000, "fd00:10:96::99", 80);
    EXPECT_EQ(unalloc.verdict, "drop");
}

}  // namespace
}  // namespace nfgate::nft

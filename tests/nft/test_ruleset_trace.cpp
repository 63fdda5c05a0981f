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

}  // namespace
}  // namespace nfgate::nft

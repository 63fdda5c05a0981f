// The pure halves of local routes and the conntrack flush: which prefixes, which flows.
#include <gtest/gtest.h>

#include <algorithm>

#include "nft/conntrack_flush.hpp"
#include "nft/local_routes.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

TEST(LocalRoutes, ServiceCidrsPlusExternalAndLbIpsOutsideThem) {
    Model m = testing::all_features();
    for (auto& s : m.services)
        if (s.name == "front") s.external_ips.push_back(testing::ip("10.96.200.1"));  // inside the CIDR
    std::vector<Cidr> want = {testing::cidr("10.96.0.0/12"), testing::cidr("198.51.100.7/32"),
                              testing::cidr("203.0.113.10/32")};
    EXPECT_EQ(local_route_prefixes(m), want);
}

TEST(LocalRoutes, SharedVipIsRoutedOnce) {
    Model m = testing::all_features();
    for (auto& s : m.services)
        if (s.name == "web") s.external_ips = {testing::ip("198.51.100.7")};
    auto routes = local_route_prefixes(m);
    EXPECT_EQ(std::count(routes.begin(), routes.end(), testing::cidr("198.51.100.7/32")), 1);
}

std::vector<const Service*> all(const Model& m) {
    std::vector<const Service*> out;
    for (const auto& s : m.services) out.push_back(&s);
    return out;
}

Service& named(Model& m, const char* name) {
    return *std::find_if(m.services.begin(), m.services.end(), [&](const Service& s) { return s.name == name; });
}

TEST(ConntrackFlush, AnEndpointLeavingAUdpPortStalesEachFrontendOfThatPort) {
    Model before = testing::two_services();
    named(before, "dns").external_ips = {testing::ip("198.51.100.53")};
    named(before, "dns").ports[0].node_port = 30053;
    Model after = before;
    named(after, "dns").ports[0].endpoints[0].ready = false;
    auto stale = stale_udp_flows(before, all(before), after, all(after));
    const auto ep_ip = testing::ip("10.244.1.9");
    std::vector<StaleUdpFlow> want = {{testing::ip("10.96.0.53"), 53, ep_ip, 53},
                                      {testing::ip("192.0.2.1"), 30053, ep_ip, 53},
                                      {testing::ip("198.51.100.53"), 53, ep_ip, 53}};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(stale, want);
    // TCP endpoints never count: web losing one changes nothing here.
    Model tcp_only = before;
    named(tcp_only, "web").ports[0].endpoints.pop_back();
    EXPECT_TRUE(stale_udp_flows(before, all(before), tcp_only, all(tcp_only)).empty());
}

TEST(ConntrackFlush, AnEndpointStillServingAnotherServiceLosesOnlyTheFlowsOfTheOneItLeft) {
    Model before = testing::two_services();
    Service copy = named(before, "dns");
    copy.name = "dns-copy";
    copy.cluster_ips = {testing::ip("10.96.0.54")};
    before.services.push_back(copy);
    Model after = before;
    named(after, "dns").ports[0].endpoints.clear();
    // Only dns changed; dns-copy keeps 10.244.1.9:53, but flows sent to dns's VIP must go.
    const Service* was = &named(before, "dns");
    const Service* is = &named(after, "dns");
    auto stale = stale_udp_flows(before, {was}, after, {is});
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0], (StaleUdpFlow{testing::ip("10.96.0.53"), 53, testing::ip("10.244.1.9"), 53}));
    // The whole Service going away stales the same flows; the unchanged copy's flows stay.
    EXPECT_EQ(stale_udp_flows(before, {was}, after, {}), stale);
}

TEST(ConntrackFlush, AMovedFrontendStalesTheOldOneOnly) {
    Model before = testing::two_services();
    Model after = before;
    named(after, "dns").cluster_ips = {testing::ip("10.96.0.63")};
    auto stale = stale_udp_flows(before, all(before), after, all(after));
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].frontend_ip, testing::ip("10.96.0.53"));
    EXPECT_TRUE(stale_udp_flows(before, all(before), before, all(before)).empty());
}

}  // namespace
}  // namespace nfgate::nft

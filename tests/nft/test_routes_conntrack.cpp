// The pure halves of local routes and the conntrack flush: which prefixes, which endpoints.
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

TEST(ConntrackFlush, OnlyUdpEndpointsNoLongerReadyAnywhereAreGone) {
    Model before = testing::two_services();
    Model after = before;
    for (auto& s : after.services)
        if (s.name == "dns")
            for (auto& p : s.ports) p.endpoints[0].ready = false;
    auto gone = gone_udp_endpoints(all(before), all(after), after);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].ip, testing::ip("10.244.1.9"));
    EXPECT_EQ(gone[0].port, 53);
    // TCP endpoints never count: web losing one changes nothing here.
    Model tcp_only = before;
    for (auto& s : tcp_only.services)
        if (s.name == "web") s.ports[0].endpoints.pop_back();
    EXPECT_TRUE(gone_udp_endpoints(all(before), all(tcp_only), tcp_only).empty());
}

TEST(ConntrackFlush, AnEndpointStillServingAnotherServiceIsKept) {
    Model before = testing::two_services();
    auto is_dns = [](const Service& s) { return s.name == "dns"; };
    Service copy = *std::find_if(before.services.begin(), before.services.end(), is_dns);
    copy.name = "dns-copy";
    copy.cluster_ips = {testing::ip("10.96.0.54")};
    before.services.push_back(copy);
    Model after = before;
    after.services.erase(std::find_if(after.services.begin(), after.services.end(), is_dns));
    const Service* removed = &*std::find_if(before.services.begin(), before.services.end(), is_dns);
    // Only dns changed (it went away); dns-copy, unchanged, still has the endpoint ready.
    EXPECT_TRUE(gone_udp_endpoints({removed}, {}, after).empty());
    EXPECT_EQ(gone_udp_endpoints({removed}, {}, testing::base_model()).size(), 1u);
}

}  // namespace
}  // namespace nfgate::nft

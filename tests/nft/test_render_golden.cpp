// Golden tests: each fixture Model renders to exactly tests/nft/golden/<name>.nft.
// NFGATE_UPDATE_GOLDEN=1 rewrites the files instead (review the diff before committing it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <tuple>
#include <sstream>

#include "nft/nft_render.hpp"
#include "nft/nft_text.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

using testing::Fixture;

std::string golden_path(const std::string& name) { return std::string(NFGATE_NFT_GOLDEN_DIR) + "/" + name + ".nft"; }

class Golden : public ::testing::TestWithParam<Fixture> {};

TEST_P(Golden, RenderMatchesGoldenText) {
    const Fixture& f = GetParam();
    std::string text = to_nft_text(render(f.model));
    const char* update = std::getenv("NFGATE_UPDATE_GOLDEN");
    if (update && std::string(update) == "1") {
        std::ofstream(golden_path(f.name)) << text;
        GTEST_SKIP() << "rewrote " << golden_path(f.name);
    }
    std::ifstream in(golden_path(f.name));
    ASSERT_TRUE(in) << "missing " << golden_path(f.name) << " (NFGATE_UPDATE_GOLDEN=1 creates it)";
    std::stringstream want;
    want << in.rdbuf();
    EXPECT_EQ(text, want.str()) << "rendering of fixture " << f.name << " changed";
}

TEST_P(Golden, RenderIsDeterministic) {
    EXPECT_EQ(render(GetParam().model), render(GetParam().model));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::ValuesIn(testing::golden_fixtures()),
                         [](const auto& info) { return info.param.name; });

TEST(Render, ServiceWithoutReadyEndpointsRejectsInsteadOfDnat) {
    Model m = testing::all_features();
    Ruleset rs = render(m);
    const Service* idle = nullptr;
    for (const auto& s : m.services)
        if (s.name == "idle") idle = &s;
    ASSERT_NE(idle, nullptr);
    std::string chain = service_chain_name(*idle, idle->ports[0]);
    for (const auto& c : rs.chains) EXPECT_NE(c.name, chain) << "no chain for a port without ready endpoints";
    bool in_noep = false;
    for (const auto& s : rs.sets)
        if (s.name == kNoEndpointServicesMap)
            for (const auto& e : s.elems) in_noep |= e.addr == idle->cluster_ips[0] && e.goto_chain == kRejectChain;
    EXPECT_TRUE(in_noep);
}

TEST(Render, LongNamesAreCutToTheKernelLimitAndStayDistinct) {
    Model m = testing::base_model();
    for (int i = 0; i < 2; ++i) {
        Service s;
        s.ns = std::string(63, 'n');
        s.name = std::string(62, 'x') + std::to_string(i);
        s.cluster_ips = {testing::ip("10.96.0.1") + static_cast<uint32_t>(i)};
        ServicePort p;
        p.name = std::string(15, 'p');
        p.port = 80;
        p.endpoints = {testing::ep("10.244.0.2", 80)};
        for (uint16_t k = 0; k < 3; ++k) {
            ServicePort pk = p;
            pk.port = static_cast<uint16_t>(80 + k);
            pk.name += std::to_string(k);
            s.ports.push_back(pk);
        }
        s.affinity_client_ip = true;
        m.services.push_back(s);
    }
    Ruleset rs = render(m);
    std::set<std::string> names;
    for (const auto& c : rs.chains) {
        EXPECT_LE(c.name.size(), 255u);
        EXPECT_TRUE(names.insert(c.name).second) << c.name;
    }
    for (const auto& s : rs.sets) {
        EXPECT_LE(s.name.size(), 255u);
        EXPECT_TRUE(names.insert(s.name).second) << s.name;
    }
}

TEST(Render, DuplicateServiceKeysKeepTheFirstService) {
    Model m = testing::two_services();
    Service dup = m.services[1];
    dup.name = "web-copy";
    m.services.push_back(dup);
    Ruleset rs = render(m);
    for (const auto& s : rs.sets) {
        std::set<std::tuple<uint32_t, Proto, uint16_t, uint32_t>> keys;
        for (const auto& e : s.elems) EXPECT_TRUE(keys.insert({e.addr.v4, e.proto, e.port, e.index}).second) << s.name;
    }
}

}  // namespace
}  // namespace nfgate::nft

// Finding changed Services, and the invariant incremental applies rest on: diffing the parts the
// changed Services own gives the same operations as diffing whole renderings.
#include <gtest/gtest.h>

#include <algorithm>

#include "nft/model_changes.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

Service& find(Model& m, const std::string& name) {
    for (auto& s : m.services)
        if (s.name == name) return s;
    throw std::runtime_error(name);
}

std::vector<std::string> sorted_lines(const Plan& p) {
    auto lines = p.describe();
    std::sort(lines.begin(), lines.end());
    return lines;
}

// What KernelPath does for a change that keeps the gateway settings.
Plan part_plan(const Model& a, const Model& b, const ServiceChanges& ch) {
    std::set<PickChain> had, has;
    for (const auto& s : a.services)
        for (const auto& p : s.ports)
            for (const auto& k : pick_chains_of(a, s, p)) had.insert(k);
    for (const auto& s : b.services)
        for (const auto& p : s.ports)
            for (const auto& k : pick_chains_of(b, s, p)) has.insert(k);
    std::set<uint32_t> had_ips, has_ips;
    for (const auto& s : a.services)
        for (const Addr& ip : hairpin_addresses(a, s)) had_ips.insert(ip.v4);
    for (const auto& s : b.services)
        for (const Addr& ip : hairpin_addresses(b, s)) has_ips.insert(ip.v4);
    SharedParts dropped, created;
    for (const auto& k : had)
        if (!has.count(k)) dropped.picks.insert(k);
    for (const auto& k : has)
        if (!had.count(k)) created.picks.insert(k);
    for (uint32_t ip : had_ips)
        if (!has_ips.count(ip)) dropped.hairpin.insert(ip);
    for (uint32_t ip : has_ips)
        if (!had_ips.count(ip)) created.hairpin.insert(ip);
    static Ruleset old_part, new_part;
    old_part = render_services(a, ch.before, dropped, endpoint_map_capacity(a), false);
    new_part = render_services(b, ch.after, created, endpoint_map_capacity(a), false);
    return diff_plan(old_part, new_part);
}

TEST(ModelChanges, FindsChangedAddedAndRemovedServices) {
    Model a = testing::all_features();
    Model b = a;
    find(b, "web").ports[0].endpoints[0].ready = false;
    b.services.erase(std::find_if(b.services.begin(), b.services.end(), [](const Service& s) { return s.name == "idle"; }));
    ServiceChanges ch;
    ASSERT_TRUE(changed_services(a, b, ch));
    std::vector<std::string> before, after;
    for (const Service* s : ch.before) before.push_back(s->name);
    for (const Service* s : ch.after) after.push_back(s->name);
    EXPECT_EQ(before, (std::vector<std::string>{"web", "idle"}));
    EXPECT_EQ(after, (std::vector<std::string>{"web"}));
}

TEST(ModelChanges, UnsortedServicesAreRefused) {
    Model a = testing::two_services();
    Model b = a;
    std::swap(b.services[0], b.services[1]);
    ServiceChanges ch;
    EXPECT_FALSE(changed_services(a, b, ch));
}

TEST(ModelChanges, GatewaySettingsAreGlobals) {
    Model a = testing::two_services();
    Model b = a;
    b.workers = 7;
    EXPECT_TRUE(same_ruleset_globals(a, b)) << "workers do not reach the ruleset";
    b.masquerade.all = true;
    EXPECT_FALSE(same_ruleset_globals(a, b));
}

TEST(ModelChanges, AdoptingChangesYieldsTheNextModel) {
    Model a = testing::all_features();
    Model edited = a;
    find(edited, "cart").affinity_timeout_s = 5;
    Model reshaped = edited;
    reshaped.services.erase(reshaped.services.begin());
    for (const Model* next : {&edited, &reshaped}) {
        Model held = a;
        ServiceChanges ch;
        ASSERT_TRUE(changed_services(held, *next, ch));
        adopt_services(held, *next, ch);
        EXPECT_EQ(held.services, next->services);
    }
}

TEST(ModelChanges, DiffOfTheChangedPartsEqualsDiffOfWholeRenderings) {
    Model a = testing::all_features();
    std::vector<Model> nexts;
    Model m1 = a;
    find(m1, "web").ports[0].endpoints[1].ip = testing::ip("10.244.9.9");
    nexts.push_back(m1);
    Model m2 = a;
    find(m2, "web").ports[0].endpoints.pop_back();  // web moves to another shared chain
    nexts.push_back(m2);
    Model m3 = a;
    find(m3, "idle").ports[0].endpoints[0].ready = true;
    find(m3, "front").lb_source_ranges.clear();
    nexts.push_back(m3);
    Model m4 = a;
    m4.services.erase(m4.services.begin());
    nexts.push_back(m4);
    for (const Model& b : nexts) {
        ServiceChanges ch;
        ASSERT_TRUE(changed_services(a, b, ch));
        Ruleset whole_a = render(a), whole_b = render(b);
        EXPECT_EQ(sorted_lines(part_plan(a, b, ch)), sorted_lines(diff_plan(whole_a, whole_b)));
    }
}

}  // namespace
}  // namespace nfgate::nft

namespace nfgate::nft {
namespace {

const Set* set_named(const Ruleset& rs, const std::string& name) {
    for (const auto& s : rs.sets)
        if (s.name == name) return &s;
    return nullptr;
}

// The kernel path renders what model/endpoint_choice.hpp chooses: every endpoint terminating
// but serving still serves (service-ips, endpoints in the map), none serving is rejected.
TEST(EndpointChoice, TerminatingButServingEndpointsAreRenderedWhenNoneIsReady) {
    for (bool serving : {true, false}) {
        Model m = testing::two_services();
        for (auto& p : m.services[0].ports)
            for (auto& e : p.endpoints) {
                e.ready = false;
                e.serving = serving;
                e.terminating = true;
            }
        const Ruleset rs = render(m);
        const Set* served = set_named(rs, kServiceIpsMap);
        const Set* rejected = set_named(rs, kNoEndpointServicesMap);
        ASSERT_NE(served, nullptr);
        ASSERT_NE(rejected, nullptr);
        const uint32_t vip = m.services[0].cluster_ips[0];
        auto has = [&](const Set* s) {
            return std::any_of(s->elems.begin(), s->elems.end(), [&](const SetElem& e) { return e.addr == vip; });
        };
        EXPECT_EQ(has(served), serving) << "serving " << serving;
        EXPECT_EQ(has(rejected), !serving) << "serving " << serving;
    }
}

}  // namespace
}  // namespace nfgate::nft

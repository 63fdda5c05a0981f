// Incremental plans: what changes in the batch when the model changes, and in which order.
#include <gtest/gtest.h>
#include <linux/netlink.h>

#include <algorithm>
#include <array>
#include <set>

#include "nft/affinity_sweep.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"
#include "nft/ruleset_seal.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

Service& find(Model& m, const std::string& name) {
    for (auto& s : m.services)
        if (s.name == name) return s;
    throw std::runtime_error(name);
}

bool mentions(const std::string& line, const std::string& what) { return line.find(what) != std::string::npos; }

size_t index_of(const Plan& p, OpKind k, const std::string& name) {
    for (size_t i = 0; i < p.ops.size(); ++i) {
        const Op& op = p.ops[i];
        if (op.kind != k) continue;
        if ((op.chain && op.chain->name == name) || (op.set && op.set->name == name)) return i;
    }
    return p.ops.size();
}

TEST(Plan, SameModelNeedsNoBatch) {
    Ruleset a = render(testing::all_features()), b = render(testing::all_features());
    EXPECT_TRUE(diff_plan(a, b).empty());
}

TEST(Plan, FullPlanReplacesTheTableWithoutFailingWhenItIsMissing) {
    Ruleset rs = render(testing::two_services());
    auto lines = full_plan(rs).describe();
    ASSERT_GE(lines.size(), 3u);
    EXPECT_EQ(lines[0], "add table nfgate");
    EXPECT_EQ(lines[1], "delete table nfgate");
    EXPECT_EQ(lines[2], "add table nfgate");
}

TEST(Plan, OneEndpointChangeIsFourMapElementsAndTheHairpinPairs) {
    Model before = testing::two_services();
    Model after = before;
    Service& web = find(after, "web");
    web.ports[0].endpoints[1].ip = testing::ip("10.244.2.99");
    Ruleset a = render(before), b = render(after);
    std::vector<std::string> want = {
        "delete element service-endpoints 10.96.0.10 . tcp . 80 . 1 : 10.244.2.6 . 8080",
        "delete element service-endpoints 192.0.2.1 . tcp . 30080 . 1 : 10.244.2.6 . 8080",
        "delete element hairpin-endpoints 10.244.2.6 . 10.244.2.6",
        "add element service-endpoints 10.96.0.10 . tcp . 80 . 1 : 10.244.2.99 . 8080",
        "add element service-endpoints 192.0.2.1 . tcp . 30080 . 1 : 10.244.2.99 . 8080",
        "add element hairpin-endpoints 10.244.2.99 . 10.244.2.99",
    };
    EXPECT_EQ(diff_plan(a, b).describe(), want);
}

TEST(Plan, EndpointCountChangeMovesTheServiceToAnotherSharedChain) {
    Model before = testing::two_services();
    Model after = before;
    Service& web = find(after, "web");
    web.ports[0].endpoints.pop_back();
    Ruleset a = render(before), b = render(after);
    auto lines = diff_plan(a, b).describe();
    auto has = [&](const std::string& what) {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return mentions(l, what); });
    };
    EXPECT_TRUE(has("add element service-ips 10.96.0.10 . tcp . 80 counter : goto endpoints-2-masq"));
    EXPECT_TRUE(has("delete element service-endpoints 10.96.0.10 . tcp . 80 . 2 : 10.244.3.7 . 8080"));
    EXPECT_TRUE(has("add chain endpoints-2-masq"));
    EXPECT_TRUE(has("delete chain endpoints-3-masq"));  // no service has 3 endpoints any more
    EXPECT_FALSE(has("10.96.0.53")) << "dns did not change";
    EXPECT_FALSE(has("10.96.0.10 . tcp . 80 . 0")) << "endpoint 0 did not change";
}

TEST(Plan, LosingAllEndpointsMovesTheKeysToTheRejectMap) {
    Model before = testing::two_services();
    Model after = before;
    Service& web = find(after, "web");
    for (auto& e : web.ports[0].endpoints) e.ready = false;
    Ruleset a = render(before), b = render(after);
    Plan p = diff_plan(a, b);
    auto lines = p.describe();
    std::string shared = endpoint_dnat_chain_name(3, true);
    std::vector<std::string> want = {
        "delete element service-ips 10.96.0.10 . tcp . 80 counter : goto " + shared,
        "delete element service-nodeports tcp . 30080 counter : goto " + shared,
        "delete element service-endpoints 10.96.0.10 . tcp . 80 . 0 : 10.244.1.5 . 8080",
        "delete element service-endpoints 10.96.0.10 . tcp . 80 . 1 : 10.244.2.6 . 8080",
        "delete element service-endpoints 10.96.0.10 . tcp . 80 . 2 : 10.244.3.7 . 8080",
        "delete element service-endpoints 192.0.2.1 . tcp . 30080 . 0 : 10.244.1.5 . 8080",
        "delete element service-endpoints 192.0.2.1 . tcp . 30080 . 1 : 10.244.2.6 . 8080",
        "delete element service-endpoints 192.0.2.1 . tcp . 30080 . 2 : 10.244.3.7 . 8080",
        "delete element hairpin-endpoints 10.244.1.5 . 10.244.1.5",
        "delete element hairpin-endpoints 10.244.2.6 . 10.244.2.6",
        "delete element hairpin-endpoints 10.244.3.7 . 10.244.3.7",
        // Only frontends with endpoints count their traffic.
        "delete element service-traffic 10.96.0.10 . tcp . 80 counter",
        "delete element service-traffic 192.0.2.1 . tcp . 30080 counter",
        // web was the only service with three endpoints: its shared chain goes too.
        "flush chain " + shared,
        "delete chain " + shared,
        "add element no-endpoint-services 10.96.0.10 . tcp . 80 : goto reject-chain",
        "add element no-endpoint-nodeports tcp . 30080 : goto reject-chain",
    };
    EXPECT_EQ(lines, want);
}

TEST(Plan, NewServiceIsAddedBeforeTheMapElementsThatPointAtIt) {
    Model before = testing::two_services();
    Model after = testing::all_features();
    after.cluster_cidrs = before.cluster_cidrs;
    Ruleset a = render(before), b = render(after);
    Plan p = diff_plan(a, b);
    Service& front = find(after, "front");
    std::string fw = firewall_chain_name(front, front.ports[0]);
    std::string svc = endpoint_dnat_chain_name(2, false);  // two endpoints, externalTrafficPolicy Local
    size_t add_fw = index_of(p, OpKind::add_chain, fw), add_svc = index_of(p, OpKind::add_chain, svc);
    size_t add_map = index_of(p, OpKind::add_elems, kServiceIpsMap);
    ASSERT_LT(add_map, p.ops.size());
    EXPECT_LT(add_fw, add_map);
    EXPECT_LT(add_svc, add_map);
    for (const auto& l : p.describe()) {
        EXPECT_FALSE(mentions(l, "default-web")) << "unchanged service touched: " << l;
        EXPECT_FALSE(mentions(l, "kube-system-dns")) << "unchanged service touched: " << l;
    }
}

TEST(Plan, AffinityChangeReplacesTheMapAfterFlushingItsChain) {
    Model before = testing::all_features();
    Model after = before;
    Service& cart = find(after, "cart");
    cart.affinity_timeout_s = 1200;
    Ruleset a = render(before), b = render(after);
    Plan p = diff_plan(a, b);
    std::string chain = service_chain_name(cart, cart.ports[0]);
    std::string old_map = affinity_map_name(cart, cart.ports[0], 600);
    std::string new_map = affinity_map_name(cart, cart.ports[0], 1200);
    ASSERT_NE(old_map, new_map);
    size_t flush = index_of(p, OpKind::flush_chain, chain);
    size_t del = index_of(p, OpKind::delete_set, old_map), add = index_of(p, OpKind::add_set, new_map);
    size_t first_rule = index_of(p, OpKind::add_rule, chain);
    ASSERT_LT(first_rule, p.ops.size());
    EXPECT_LT(flush, del);
    EXPECT_LT(add, first_rule);
    for (const auto& l : p.describe()) EXPECT_TRUE(mentions(l, "shop-cart")) << l;
}

// An endpoint change keeps an affinity Service's map (clients pinned to endpoints that stay keep
// them); only the pins of the endpoint that left are to be taken away, which the sweep is told.
TEST(Plan, EndpointChangeKeepsTheAffinityMap) {
    Model before = testing::all_features();
    Model after = before;
    Service& cart = find(after, "cart");
    cart.ports[0].endpoints.erase(cart.ports[0].endpoints.begin());  // 10.244.4.1 leaves
    cart.ports[0].endpoints.push_back(testing::ep("10.244.4.9", 8443));
    const Ruleset a = render(before), b = render(after);
    Plan p = diff_plan(a, b);
    const std::string map = affinity_map_name(cart, cart.ports[0], 600);
    EXPECT_EQ(index_of(p, OpKind::delete_set, map), p.ops.size());
    EXPECT_EQ(index_of(p, OpKind::add_set, map), p.ops.size());
    EXPECT_LT(index_of(p, OpKind::flush_chain, service_chain_name(cart, cart.ports[0])), p.ops.size());

    const Service& was = find(before, "cart");
    const std::vector<AffinityKeep> shrunk = shrunk_affinity_maps({&was}, {&cart});
    ASSERT_EQ(shrunk.size(), 1u);
    EXPECT_EQ(shrunk[0].map, map);
    EXPECT_EQ(shrunk[0].family, Family::ip);
    ASSERT_EQ(shrunk[0].keep.size(), 2u);  // 10.244.4.3 and the new one, not the unready one
    EXPECT_EQ(shrunk[0].keep[0].ip, Addr(testing::ip("10.244.4.3")));
    EXPECT_EQ(shrunk[0].keep[1].ip, Addr(testing::ip("10.244.4.9")));

    // Only gaining an endpoint takes no pin away.
    Service grown = was;
    grown.ports[0].endpoints.push_back(testing::ep("10.244.4.9", 8443));
    EXPECT_TRUE(shrunk_affinity_maps({&was}, {&grown}).empty());
    // A new timeout is a new map: nothing to sweep in it.
    Service retimed = cart;
    retimed.affinity_timeout_s = 1200;
    EXPECT_TRUE(shrunk_affinity_maps({&was}, {&retimed}).empty());
}

// The seal's fingerprint is the rendering's: equal for equal rulesets, different when any field
// of any element or any rule differs.
TEST(Seal, FingerprintFollowsTheRulesetToItsElements) {
    const Ruleset rs = render(testing::all_features());
    const std::string fp = ruleset_fingerprint(rs);
    EXPECT_EQ(fp, ruleset_fingerprint(render(testing::all_features())));
    EXPECT_EQ(fp.rfind("nfgate ruleset ", 0), 0u);
    size_t changed = 0;
    for (size_t si = 0; si < rs.sets.size(); ++si) {
        if (rs.sets[si].elems.empty()) continue;
        auto differs = [&](auto&& edit) {
            Ruleset other = rs;
            edit(other.sets[si].elems.back());
            return ruleset_fingerprint(other) != fp;
        };
        EXPECT_TRUE(differs([](SetElem& e) { e.port ^= 1; })) << rs.sets[si].name;
        EXPECT_TRUE(differs([](SetElem& e) { e.addr.v4 ^= 1; e.addr.v6.b[15] ^= 1; })) << rs.sets[si].name;
        EXPECT_TRUE(differs([](SetElem& e) { e.to.port ^= 1; })) << rs.sets[si].name;
        EXPECT_TRUE(differs([](SetElem& e) { e.goto_chain += "x"; })) << rs.sets[si].name;
        EXPECT_TRUE(differs([](SetElem& e) { e.index ^= 1; })) << rs.sets[si].name;
        ++changed;
    }
    EXPECT_GT(changed, 3u);
    Ruleset fewer = rs;
    auto chain = std::find_if(fewer.chains.begin(), fewer.chains.end(), [](const Chain& c) { return !c.rules.empty(); });
    ASSERT_NE(chain, fewer.chains.end());
    chain->rules.pop_back();
    EXPECT_NE(ruleset_fingerprint(fewer), fp);
}

// The control plane's address hash spreads the addresses of one prefix (which differ only in
// their last bytes) over the low bits open addressing uses: 4096 pod addresses into 4096 slots
// land on about as many distinct slots as random values would (~2590), for both families.
TEST(AddrHash, SpreadsOnePrefixOverTheLowBits) {
    std::set<size_t> v4, v6;
    for (uint32_t i = 1; i <= 4096; ++i) {
        v4.insert(AddrHash{}(testing::ip("10.244.0.0") + i) & 4095);
        Ip6 a = Ip6::from(std::array<uint8_t, 16>{0xfd, 0, 0, 0x10, 0x2, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}.data());
        a.b[14] = static_cast<uint8_t>(i >> 8);
        a.b[15] = static_cast<uint8_t>(i);
        v6.insert(AddrHash{}(a) & 4095);
    }
    EXPECT_GT(v4.size(), 2400u);
    EXPECT_GT(v6.size(), 2400u);
}

TEST(Batch, EveryMessageIsDescribedAndAsksForAnAck) {
    Ruleset rs = render(testing::all_features());
    Plan p = full_plan(rs);
    Batch b = build_batch(p, 1000);
    // begin + end carry no ACK request; everything between does.
    ASSERT_GE(b.what.size(), 2u);
    EXPECT_EQ(b.acks_expected, b.what.size() - 2);
    EXPECT_EQ(b.what.front(), "batch begin");
    EXPECT_EQ(b.what.back(), "batch end");
    EXPECT_EQ(b.what[1], "add table nfgate");
    size_t offset = 0, count = 0;
    while (offset < b.buf.size()) {
        auto* nlh = reinterpret_cast<const nlmsghdr*>(b.buf.data() + offset);
        EXPECT_EQ(nlh->nlmsg_seq, 1000 + count);
        offset += NLMSG_ALIGN(nlh->nlmsg_len);
        ++count;
    }
    EXPECT_EQ(offset, b.buf.size());
    EXPECT_EQ(count, b.what.size());
}

}  // namespace
}  // namespace nfgate::nft

namespace nfgate::nft {
namespace {

// Enough endpoints behind one ClusterIP to need `elements` map entries.
Model with_endpoint_elements(size_t elements) {
    Model m = testing::base_model();
    Service s;
    s.ns = "big";
    s.name = "many";
    s.cluster_ips = {testing::ip("10.96.5.5")};
    ServicePort p;
    p.port = 80;
    for (size_t i = 0; i < elements; ++i)
        p.endpoints.push_back(Endpoint{testing::ip("10.245.0.0") + static_cast<uint32_t>(i), 8080, true});
    s.ports = {p};
    m.services = {s};
    return m;
}

TEST(Plan, EndpointMapIsReplacedWhenItOutgrowsItsSize) {
    Model small = with_endpoint_elements(100), big = with_endpoint_elements(40000);
    EXPECT_EQ(endpoint_map_capacity(small), kMinEndpointMapSize);
    EXPECT_EQ(endpoint_map_capacity(big), 2 * kMinEndpointMapSize);
    Ruleset a = render(small), b = render(big);
    Plan p = diff_plan(a, b);
    size_t flush = index_of(p, OpKind::flush_chain, kServicesChain);
    size_t del = index_of(p, OpKind::delete_set, kServiceEndpointsMap);
    size_t add = index_of(p, OpKind::add_set, kServiceEndpointsMap);
    size_t fill = index_of(p, OpKind::add_elems, kServiceEndpointsMap);
    ASSERT_LT(fill, p.ops.size());
    EXPECT_LT(del, add);
    EXPECT_LT(add, fill);
    EXPECT_EQ(flush, p.ops.size()) << "the services chain does not use the endpoint map";
    EXPECT_EQ(p.ops[fill].elems.size(), 40000u) << "the new map gets every element";
}

}  // namespace
}  // namespace nfgate::nft

// The SYN-flood defence without a kernel: switching the SYN proxy is a batch of set elements and
// nothing else; the per-source limit comes and goes with its set, counter and rules in an order
// the kernel accepts; the trace says what the proxy and the limit do; /proc/net/stat is parsed.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <utility>

#include "model/endpoint_choice.hpp"
#include "model/frontends.hpp"
#include "nft/flood_figures.hpp"
#include "nft/nft_flood_render.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"
#include "nft/ruleset_trace.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

// The TCP frontends with endpoints, as (address, port), from the model's own frontend list.
std::set<std::pair<uint32_t, uint16_t>> tcp_frontends_with_endpoints(const Model& m) {
    std::set<std::pair<uint32_t, uint16_t>> out;
    for (const Frontend& f : frontends(m))
        if (f.proto == Proto::tcp && chosen_count(m.services[f.service].ports[f.port_index]) > 0) out.insert({f.ip, f.port});
    return out;
}

std::set<std::pair<uint32_t, uint16_t>> elements_of(const Plan& p, OpKind kind) {
    std::set<std::pair<uint32_t, uint16_t>> out;
    for (const Op& op : p.ops)
        if (op.kind == kind)
            for (const SetElem& e : op.elems) out.insert({e.addr.v4, e.port});
    return out;
}

size_t position(const Plan& p, OpKind kind, const std::string& name) {
    for (size_t i = 0; i < p.ops.size(); ++i) {
        const Op& op = p.ops[i];
        if (op.kind != kind) continue;
        if ((op.chain && op.chain->name == name) || (op.set && op.set->name == name) ||
            (op.counter && *op.counter == name))
            return i;
    }
    return p.ops.size();
}

size_t first_rule_with(const Plan& p, const std::string& text) {
    const auto lines = p.describe();
    for (size_t i = 0; i < lines.size(); ++i)
        if (lines[i].rfind("add rule", 0) == 0 && lines[i].find(text) != std::string::npos) return i;
    return lines.size();
}

TEST(FloodPlan, SwitchingTheSynProxyOnAddsOnlyTheTcpFrontendsToItsSet) {
    for (const Model& m : {testing::two_services(), testing::all_features()}) {
        const Ruleset off = render(m, false), on = render(m, true);
        const Plan plan = diff_plan(off, on);
        ASSERT_FALSE(plan.empty());
        for (const Op& op : plan.ops) {
            EXPECT_EQ(op.kind, OpKind::add_elems) << plan.describe().front();
            ASSERT_NE(op.set, nullptr);
            EXPECT_EQ(op.set->name, kSynProxySet);
        }
        const auto want = tcp_frontends_with_endpoints(m);
        EXPECT_EQ(elements_of(plan, OpKind::add_elems), want);

        const Plan back = diff_plan(on, off);
        for (const Op& op : back.ops) EXPECT_EQ(op.kind, OpKind::delete_elems);
        EXPECT_EQ(elements_of(back, OpKind::delete_elems), want);
    }
}

TEST(FloodPlan, UdpAndEndpointlessFrontendsAreNeverProxied) {
    const Model m = testing::all_features();
    const Ruleset on = render(m, true);
    const auto want = tcp_frontends_with_endpoints(m);
    size_t udp_or_idle = 0;
    for (const Frontend& f : frontends(m))
        if (f.proto != Proto::tcp || chosen_count(m.services[f.service].ports[f.port_index]) == 0) ++udp_or_idle;
    ASSERT_GT(udp_or_idle, 0u) << "the fixture should have a UDP or endpointless frontend";
    for (const Set& s : on.sets)
        if (s.name == kSynProxySet) {
            std::set<std::pair<uint32_t, uint16_t>> have;
            for (const SetElem& e : s.elems) have.insert({e.addr.v4, e.port});
            EXPECT_EQ(have, want);
        }
}

// An incremental apply while the proxy is on: a new Service's TCP frontend joins the set in the
// same batch as its map elements.
TEST(FloodPlan, AServiceAddedWhileTheProxyIsOnIsProxiedAtOnce) {
    Model before = testing::two_services();
    Model after = before;
    Service extra = after.services.front();
    extra.name = "extra";
    extra.cluster_ips = {testing::ip("10.96.0.77")};
    extra.ports.resize(1);
    extra.ports[0].proto = Proto::tcp;
    extra.ports[0].node_port = 0;
    after.services.push_back(extra);
    const uint32_t cap = endpoint_map_capacity(before);
    const Ruleset old_part = render_services(before, {}, {}, cap, true);
    const Ruleset new_part = render_services(after, {&after.services.back()}, {}, cap, true);
    const Plan p = diff_plan(old_part, new_part);
    bool added = false;
    for (const Op& op : p.ops)
        if (op.kind == OpKind::add_elems && op.set->name == kSynProxySet)
            for (const SetElem& e : op.elems) added |= e.addr == testing::ip("10.96.0.77") && e.port == extra.ports[0].port;
    EXPECT_TRUE(added);
    const Ruleset old_off = render_services(before, {}, {}, cap, false);
    const Ruleset new_off = render_services(after, {&after.services.back()}, {}, cap, false);
    const Plan off = diff_plan(old_off, new_off);  // points into both: they outlive it
    for (const Op& op : off.ops) EXPECT_FALSE(op.kind == OpKind::add_elems && op.set->name == kSynProxySet);
}

TEST(FloodPlan, PerSourceLimitComesAndGoesInAnOrderTheKernelTakes) {
    const Model plain = testing::two_services();
    Model limited = plain;
    limited.new_flows_per_source = 10;
    limited.new_flows_per_source_burst = 30;
    const Ruleset a = render(plain), b = render(limited);

    const Plan on = diff_plan(a, b);
    const size_t counter = position(on, OpKind::add_counter, kRateLimitedCounter);
    const size_t set = position(on, OpKind::add_set, kNewFlowSourcesSet);
    const size_t rule = first_rule_with(on, "limit rate over 10/second burst 30 packets");
    ASSERT_LT(rule, on.ops.size());
    EXPECT_LT(counter, rule);
    EXPECT_LT(set, rule);
    for (const char* chain : {"filter-input", "filter-forward", "filter-output"})
        EXPECT_LT(position(on, OpKind::flush_chain, chain), on.ops.size()) << chain;

    const Plan off = diff_plan(b, a);
    const size_t flushed = position(off, OpKind::flush_chain, "filter-forward");
    EXPECT_LT(flushed, position(off, OpKind::delete_counter, kRateLimitedCounter));
    EXPECT_LT(flushed, position(off, OpKind::delete_set, kNewFlowSourcesSet));
    EXPECT_LT(position(off, OpKind::delete_set, kNewFlowSourcesSet), off.ops.size());
}

TEST(FloodPlan, AnIdleSourceIsForgottenOnlyOnceItsBucketHasRefilled) {
    Model m = testing::two_services();
    m.new_flows_per_source = 10;
    m.new_flows_per_source_burst = 35;
    const auto set = new_flow_sources_set(m);
    ASSERT_TRUE(set);
    EXPECT_GE(set->timeout_s * m.new_flows_per_source, m.per_source_burst());
    EXPECT_EQ(set->size, kNewFlowSourcesSize);
    m.new_flows_per_source = 0;
    EXPECT_FALSE(new_flow_sources_set(m));
    EXPECT_FALSE(new_flow_limit_rule(m));
}

}  // namespace
}  // namespace nfgate::nft

namespace nfgate::nft {
namespace {

TEST(FloodTrace, SaysWhenTheSynProxyAnswersAndWhenTheLimitMayDrop) {
    Model m = testing::all_features();
    m.new_flows_per_source = 7;
    const TracePacket syn{6, testing::ip("203.0.113.50"), testing::ip("10.96.0.10"), 40000, 80};
    const auto mentions = [](const TraceResult& r, const std::string& text) {
        return std::any_of(r.steps.begin(), r.steps.end(),
                           [&](const TraceStep& s) { return s.detail.find(text) != std::string::npos; });
    };
    const TraceResult on = trace_ruleset(m, render(m, true), syn);
    EXPECT_TRUE(mentions(on, "SYN proxy on")) << "the frontend is in the proxy's set";
    EXPECT_EQ(on.verdict, "forward") << "then translated as any other connection";
    EXPECT_TRUE(mentions(on, "more than 7 connections a second"));
    const TraceResult off = trace_ruleset(m, render(m, false), syn);
    EXPECT_FALSE(mentions(off, "SYN proxy on"));
    EXPECT_EQ(off.chosen, on.chosen);
    const TracePacket udp{17, syn.src, testing::ip("10.96.0.10"), 40000, 53};
    EXPECT_FALSE(mentions(trace_ruleset(m, render(m, true), udp), "SYN proxy on"));
}

TEST(FloodFigures, ProcStatColumnsAreSummedOverCpus) {
    const std::string text =
        "entries\t\tsyn_received\tcookie_invalid\tcookie_valid\tcookie_retrans\tconn_reopened\n"
        "00000000\t00000e1b\t00000000\t0000000b\t00000000\t00000000\n"
        "00000000\t0000401a\t00000002\t0000000a\t00000000\t00000000\n";
    EXPECT_EQ(sum_proc_stat_column(text, "syn_received"), 0xe1bu + 0x401au);
    EXPECT_EQ(sum_proc_stat_column(text, "cookie_valid"), 21u);
    EXPECT_EQ(sum_proc_stat_column(text, "cookie_invalid"), 2u);
    EXPECT_FALSE(sum_proc_stat_column(text, "no_such_column"));
    EXPECT_FALSE(sum_proc_stat_column("", "syn_received"));
}

}  // namespace
}  // namespace nfgate::nft

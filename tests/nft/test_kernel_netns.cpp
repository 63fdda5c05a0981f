// The kernel path against a real kernel: the whole process moves into a fresh network namespace
// first, so nothing here can touch the host's ruleset, and the namespace goes away with the
// process whatever happens. Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN); skipped otherwise.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <tuple>
#include <vector>
#include <cstdio>
#include <fstream>
#include <memory>

#include "nft/kernel_path.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"
#include "nft/nft_text.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

bool g_in_netns = false;

class FreshNetns : public ::testing::Environment {
public:
    void SetUp() override {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) return;
        g_in_netns = std::system("ip link set lo up") == 0;
    }
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new FreshNetns);

struct Shell {
    int status;
    std::string out;
};

Shell sh(const std::string& cmd) {
    Shell r{0, {}};
    std::unique_ptr<FILE, decltype(&pclose)> p(popen((cmd + " 2>&1").c_str(), "r"), pclose);
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p.get())) > 0) r.out.append(buf.data(), n);
    r.status = pclose(p.release());
    return r;
}

// `nft list table` with the order the kernel happens to keep made irrelevant: objects (blank-line
// separated blocks) and the elements inside a set are sorted; rule order inside a chain is kept.
// nft's default size on dynamic maps is left out (see below).
std::string normalized(const std::string& listed) {
    // The table's closing brace would otherwise stick to whichever object the kernel lists last.
    std::string text = listed;
    if (size_t last = text.rfind("\n}\n"); last != std::string::npos) text.erase(last + 1);
    std::vector<std::string> blocks;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find("\n\n", start);
        if (end == std::string::npos) end = text.size();
        std::string block = text.substr(start, end - start);
        std::string flat;
        for (char c : block) {
            bool space = c == '\t' || c == '\n' || c == ' ';
            if (!space) flat += c;
            else if (!flat.empty() && flat.back() != ' ') flat += ' ';
        }
        size_t open = flat.find("elements = { ");
        if (open != std::string::npos) {
            size_t from = open + 13, close = flat.find(" }", from);
            std::vector<std::string> items;
            for (size_t p = from; p < close;) {
                size_t comma = flat.find(", ", p);
                if (comma == std::string::npos || comma > close) comma = close;
                items.push_back(flat.substr(p, comma - p));
                p = comma + 2;
            }
            std::sort(items.begin(), items.end());
            std::string joined;
            for (const auto& i : items) joined += (joined.empty() ? "" : ", ") + i;
            flat = flat.substr(0, from) + joined + flat.substr(close);
        }
        while (!flat.empty() && flat.back() == ' ') flat.pop_back();
        // nft gives the dynamic maps it creates a size of 65535; nfgate leaves them unsized on purpose.
        if (size_t sz = flat.find("size 65535 flags dynamic"); sz != std::string::npos) flat.erase(sz, 11);
        // The seal (ruleset_seal.hpp) is the library's bookkeeping, not part of the rendering.
        if (flat.find("chain nfgate-seal {") == std::string::npos) blocks.push_back(flat);
        start = end + 2;
    }
    std::sort(blocks.begin(), blocks.end());
    std::string out;
    for (const auto& b : blocks) out += b + "\n";
    return out;
}

std::string listing(const char* family = "ip") {
    return normalized(sh(std::string("nft list table ") + family + " nfgate").out);
}

class KernelTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!g_in_netns) GTEST_SKIP() << "needs root to create a network namespace";
        std::string err;
        ASSERT_TRUE(KernelPath::cleanup(err)) << err;
    }
    void TearDown() override {
        std::string err;
        if (g_in_netns) KernelPath::cleanup(err);
    }
};

// What the library installs is what `nft -f` installs for the text rendering of the same model.
void expect_same_as_nft_f(const Model& m) {
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    std::string via_library = listing();
    ASSERT_NE(via_library.find("table ip nfgate"), std::string::npos) << via_library;

    std::string path = "/tmp/nfgate-test-" + std::to_string(getpid()) + ".nft";
    std::ofstream(path) << to_nft_text(render(m));
    ASSERT_EQ(sh("nft delete table ip nfgate").status, 0);
    Shell load = sh("nft -f " + path);
    std::remove(path.c_str());
    ASSERT_EQ(load.status, 0) << load.out;
    EXPECT_EQ(via_library, listing());
}

TEST_F(KernelTest, LibraryApplyEqualsNftOfTheTextRendering) {
    for (const auto& f : testing::golden_fixtures()) {
        SCOPED_TRACE(f.name);
        expect_same_as_nft_f(f.model);
        std::string err;
        ASSERT_TRUE(KernelPath::cleanup(err)) << err;
    }
}

// A dual-stack model whose IPv6 half touches every object kind: the endpoint map, NodePorts on
// an IPv6 node address, an externalIP, a LoadBalancer IP with source ranges (firewall chain),
// ClientIP affinity (own chain and map), a Service without endpoints (reject), ETP Local,
// masquerade and pod egress with IPv6 CIDRs, a non-byte-aligned prefix.
Model dual_stack_model() {
    auto v6 = [](const char* s) {
        Ip6 a;
        EXPECT_TRUE(parse_ipv6(s, a)) << s;
        return a;
    };
    auto c6 = [](const char* s) {
        Cidr6 c;
        EXPECT_TRUE(parse_cidr6(s, c)) << s;
        return c;
    };
    Model m;
    m.node_addresses = {0xc0000201};
    m.node_addresses6 = {v6("2001:db8:1::1")};
    m.cluster_cidrs6 = {c6("fd00:10:244::/56")};
    m.service_cidrs6 = {c6("fd00:10:96::/112")};
    m.masquerade.non_masquerade_cidrs6 = {c6("fd00::/8"), c6("2001:db8:f0::/44")};
    Service web;
    web.ns = "shop";
    web.name = "web";
    web.cluster_ips6 = {v6("fd00:10:96::10")};
    web.external_ips6 = {v6("2001:db8:20::20")};
    web.lb_ips6 = {v6("2001:db8:10::10")};
    web.lb_source_ranges6 = {c6("2001:db8:100::/48")};
    ServicePort http{"http", Proto::tcp, 80, 30080, {}};
    http.endpoints6 = {{v6("fd00:10:244:1::10"), 8080, true}, {v6("fd00:10:244:2::11"), 8080, true}};
    ServicePort dns{"dns", Proto::udp, 53, 0, {}};
    dns.endpoints6 = {{v6("fd00:10:244:1::10"), 5353, true}};
    web.ports = {http, dns};
    Service sticky = web;
    sticky.name = "sticky";
    sticky.cluster_ips6 = {v6("fd00:10:96::11")};
    sticky.external_ips6 = {};
    sticky.lb_ips6 = {v6("2001:db8:10::11")};
    sticky.lb_source_ranges6 = {};
    sticky.affinity_client_ip = true;
    sticky.external_traffic_policy = TrafficPolicy::local;
    sticky.ports = {ServicePort{"http", Proto::tcp, 80, 0, {}}};
    sticky.ports[0].endpoints6 = http.endpoints6;
    Service idle = sticky;
    idle.name = "idle";
    idle.cluster_ips6 = {v6("fd00:10:96::12")};
    idle.lb_ips6 = {};
    idle.affinity_client_ip = false;
    idle.ports[0].endpoints6 = {};
    m.services = {idle, sticky, web};
    return m;
}

void install(const Ruleset& rs) {
    const Plan plan = full_plan(rs);
    std::string err;
    ASSERT_TRUE(send_batch(build_batch(plan, next_batch_seq(static_cast<uint32_t>(plan.ops.size() * 2 + 2))), err))
        << err;
}

// The ip6 table: what the library installs is what `nft -f` installs for its text.
TEST_F(KernelTest, TheIp6TableIsWhatNftOfItsTextInstalls) {
    Model m = dual_stack_model();
    // nft 1.0.6 (Debian 12) aborts compiling `update @map { ip6 saddr : <IPv6> . <port> }`
    // (netlink_linearize.c: dreg < reg_low); the library installs it, checked below.
    m.services.erase(std::remove_if(m.services.begin(), m.services.end(), [](const Service& s) { return s.affinity_client_ip; }),
                     m.services.end());
    const Ruleset rs = render(m, true, Family::ip6);
    install(rs);
    const std::string via_library = listing("ip6");
    ASSERT_NE(via_library.find("table ip6 nfgate"), std::string::npos) << via_library;
    EXPECT_NE(via_library.find("fd00:10:96::10 . tcp . 80"), std::string::npos) << via_library;
    const std::string path = "/tmp/nfgate-test6-" + std::to_string(getpid()) + ".nft";
    std::ofstream(path) << to_nft_text(rs);
    ASSERT_EQ(sh("nft delete table ip6 nfgate").status, 0);
    Shell load = sh("nft -f " + path);
    std::remove(path.c_str());
    ASSERT_EQ(load.status, 0) << load.out << "\n" << to_nft_text(rs);
    EXPECT_EQ(via_library, listing("ip6"));
    sh("nft delete table ip6 nfgate");
}

// ClientIP affinity over IPv6: the kernel takes the chain, and nft lists every rule as rendered.
TEST_F(KernelTest, Ip6AffinityChainsInstallAndListAsRendered) {
    const Ruleset rs = render(dual_stack_model(), false, Family::ip6);
    install(rs);
    const std::string listed = sh("nft list table ip6 nfgate").out;
    unsigned checked = 0;
    for (const Chain& c : rs.chains) {
        if (c.name.rfind("svc-", 0) != 0) continue;
        for (const Rule& r : c.rules) {
            std::string text = rule_text(r, Family::ip6);
            // nft names the transport protocol it already knows: th dport after `meta l4proto tcp` is `tcp dport`.
            EXPECT_NE(listed.find(text), std::string::npos) << text << "\n" << listed;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 4u);
    sh("nft delete table ip6 nfgate");
}

// Thousands of Services: the verdict maps' element lists (with a counter each) run far past
// what one netlink attribute can hold (16-bit length) and must be cut into several messages.
TEST_F(KernelTest, ThreeThousandServicesApplyAndChangeInPieces) {
    Model m = testing::base_model();
    for (uint32_t i = 0; i < 3000; ++i) {
        Service s;
        s.ns = "scale";
        s.name = "svc" + std::to_string(10000 + i);
        s.cluster_ips = {(10u << 24) | (96u << 16) | (8u << 8) | 0u};
        s.cluster_ips[0] += i + 256;  // 10.96.9.0 on
        ServicePort p;
        p.name = "http";
        p.proto = Proto::tcp;
        p.port = 80;
        p.endpoints = {Endpoint{(10u << 24) | (244u << 16) | (i + 256), 8080, true},
                       Endpoint{(10u << 24) | (245u << 16) | (i + 256), 8080, true}};
        s.ports = {p};
        m.services.push_back(s);
    }
    std::sort(m.services.begin(), m.services.end(),
              [](const Service& a, const Service& b) { return std::tie(a.ns, a.name) < std::tie(b.ns, b.name); });
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    const std::string listed = listing();
    EXPECT_NE(listed.find("10.96.20.183 . tcp . 80"), std::string::npos) << "the last Service is in the map";
    for (auto& s : m.services) s.ports[0].endpoints.pop_back();
    ASSERT_TRUE(kp.apply(m, err)) << "an incremental change of every Service: " << err;
    ASSERT_TRUE(KernelPath::cleanup(err)) << err;
}

TEST_F(KernelTest, FirstApplyReplacesAStaleTable) {
    ASSERT_EQ(sh("nft add table ip nfgate && nft add chain ip nfgate stale").status, 0);
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(testing::two_services(), err)) << err;
    EXPECT_EQ(listing().find("stale"), std::string::npos);
}

TEST_F(KernelTest, IncrementalApplyEndsWhereAFreshApplyWouldAndLeavesOthersAlone) {
    Model before = testing::all_features();
    Model after = before;
    for (auto& s : after.services)
        if (s.name == "web") s.ports[0].endpoints.pop_back();
        else if (s.name == "idle") s.ports[0].endpoints[0].ready = true;
        else if (s.name == "cart") s.ports[0].endpoints[1].ready = true;

    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(before, err)) << err;
    std::string untouched;
    for (const auto& s : before.services)
        if (s.name == "front") untouched = "nft -a list chain ip nfgate " + firewall_chain_name(s, s.ports[0]);
    std::string rules_before = sh(untouched).out;
    ASSERT_NE(rules_before.find("handle"), std::string::npos) << rules_before;
    ASSERT_TRUE(kp.apply(after, err)) << err;
    std::string incremental = listing();
    // Rule handles change when a chain is rewritten: equal handles mean front was not touched.
    EXPECT_EQ(rules_before, sh(untouched).out);

    KernelPath fresh;
    ASSERT_TRUE(fresh.apply(after, err)) << err;
    EXPECT_EQ(incremental, listing());
    // And back again.
    ASSERT_TRUE(kp.apply(before, err)) << err;
    std::string back = listing();
    KernelPath fresh2;
    ASSERT_TRUE(fresh2.apply(before, err)) << err;
    EXPECT_EQ(back, listing());
}

// Rule handles change whenever a chain or the table is written again: equal handles across a
// restart mean nothing was rewritten.
std::string with_handles() { return sh("nft -a list table ip nfgate").out; }

TEST_F(KernelTest, ARestartAdoptsTheRulesetItSealedAndReplacesAnyOther) {
    const Model m = testing::all_features();
    Model m2 = m;
    m2.services[0].ports[0].endpoints.pop_back();
    std::string err;
    {
        KernelPath first;
        ASSERT_TRUE(first.apply(m, err)) << err;
        EXPECT_FALSE(first.adopted());
    }
    const std::string sealed = with_handles();
    EXPECT_NE(sealed.find("comment \"nfgate ruleset "), std::string::npos) << sealed;
    {
        KernelPath same;  // same configuration: adopted, nothing sent
        ASSERT_TRUE(same.apply(m, err)) << err;
        EXPECT_TRUE(same.adopted());
        EXPECT_EQ(with_handles(), sealed);
        ASSERT_TRUE(same.apply(m2, err)) << err;  // an incremental change breaks the seal...
    }  // ...and this run ends without a clean stop (no seal())
    {
        KernelPath after_crash;  // the table holds m2, but unsealed: replaced whole
        ASSERT_TRUE(after_crash.apply(m2, err)) << err;
        EXPECT_FALSE(after_crash.adopted());
        const std::string replaced = listing();
        KernelPath fresh;
        ASSERT_TRUE(KernelPath::cleanup(err)) << err;
        ASSERT_TRUE(fresh.apply(m2, err)) << err;
        EXPECT_EQ(replaced, listing());
        ASSERT_TRUE(fresh.apply(m, err)) << err;
        ASSERT_TRUE(fresh.seal(err)) << err;  // a clean stop seals what the table holds now
    }
    const std::string resealed = with_handles();
    {
        KernelPath restarted;
        ASSERT_TRUE(restarted.apply(m, err)) << err;
        EXPECT_TRUE(restarted.adopted());
        EXPECT_EQ(with_handles(), resealed);
    }
    KernelPath other;  // another configuration: replaced, and what it installs is m2's rendering
    ASSERT_TRUE(other.apply(m2, err)) << err;
    EXPECT_FALSE(other.adopted());
    EXPECT_NE(with_handles(), resealed);
}

// The ip6 table is sealed and adopted by the same code as the ip one (KernelPath::write_sealed).
TEST_F(KernelTest, ARestartAdoptsTheSealedIp6TableAndReplacesAnUnsealedOne) {
    const Model m = dual_stack_model();
    Model m2 = m;
    m2.services[2].ports[0].endpoints6.pop_back();  // shop/web: one IPv6 endpoint of two goes
    auto handles6 = [] { return sh("nft -a list table ip6 nfgate").out; };
    std::string err;
    {
        KernelPath first;
        ASSERT_TRUE(first.apply(m, err)) << err;
        EXPECT_FALSE(first.adopted());
    }
    const std::string sealed = handles6();
    EXPECT_NE(sealed.find("comment \"nfgate ruleset "), std::string::npos) << sealed;
    {
        KernelPath same;  // same configuration: both tables adopted, nothing sent
        ASSERT_TRUE(same.apply(m, err)) << err;
        EXPECT_TRUE(same.adopted());
        EXPECT_EQ(handles6(), sealed);
        ASSERT_TRUE(same.apply(m2, err)) << err;  // an IPv6 endpoint goes: the ip6 seal breaks
        EXPECT_EQ(handles6().find("comment \"nfgate ruleset "), std::string::npos) << handles6();
    }  // no clean stop
    {
        KernelPath after_crash;  // the ip6 table is unsealed: replaced whole, what m2 renders to
        ASSERT_TRUE(after_crash.apply(m2, err)) << err;
        EXPECT_FALSE(after_crash.adopted());
        const std::string replaced = listing("ip6");
        ASSERT_TRUE(after_crash.apply(m, err)) << err;
        ASSERT_TRUE(after_crash.seal(err)) << err;  // a clean stop seals both tables
        KernelPath fresh;
        ASSERT_TRUE(KernelPath::cleanup(err)) << err;
        ASSERT_TRUE(fresh.apply(m2, err)) << err;
        EXPECT_EQ(replaced, listing("ip6"));
        ASSERT_TRUE(fresh.apply(m, err)) << err;
        ASSERT_TRUE(fresh.seal(err)) << err;
    }
    const std::string resealed = handles6();
    KernelPath restarted;
    ASSERT_TRUE(restarted.apply(m, err)) << err;
    EXPECT_TRUE(restarted.adopted());
    EXPECT_EQ(handles6(), resealed);
}

std::string tcp_loose() { return sh("cat /proc/sys/net/netfilter/nf_conntrack_tcp_loose").out; }

// conntrack.synProxy on: a clean stop switches the proxy off (the sysctl gets its value back) and
// seals; the next start adopts that table unchanged and switches the proxy on in one more batch.
TEST_F(KernelTest, ARestartWithTheSynProxyOnAdoptsTheSealedTableThenSwitchesItOn) {
    Model m = testing::two_services();
    m.syn_proxy = SynProxyMode::on;
    const std::string loose = tcp_loose();
    std::string err;
    {
        KernelPath first;
        ASSERT_TRUE(first.apply(m, err)) << err;
        EXPECT_TRUE(first.syn_proxy());
        EXPECT_EQ(tcp_loose(), "0\n");
        EXPECT_NE(sh("nft list set ip nfgate synproxy-frontends").out.find("10.96.0.10 . 80"), std::string::npos);
        ASSERT_TRUE(first.set_syn_proxy(false, err)) << err;  // what the daemon does at stop
        ASSERT_TRUE(first.seal(err)) << err;
    }
    EXPECT_EQ(tcp_loose(), loose);
    EXPECT_EQ(sh("nft list set ip nfgate synproxy-frontends").out.find("elements"), std::string::npos);
    const std::string sealed = with_handles();
    KernelPath restarted;
    ASSERT_TRUE(restarted.apply(m, err)) << err;
    EXPECT_TRUE(restarted.adopted()) << "the table the stop sealed is the one this model starts from";
    EXPECT_TRUE(restarted.syn_proxy());
    EXPECT_EQ(tcp_loose(), "0\n");
    const std::string now = with_handles();
    EXPECT_NE(now.find("10.96.0.10 . 80"), std::string::npos);
    // Only the set (and the seal, which any change breaks) changed: every other chain kept its
    // rules and their handles.
    auto chains = [](std::string text) {
        text = text.substr(text.find("\tchain "));
        const size_t seal = text.find("\tchain nfgate-seal");
        if (seal != std::string::npos) text.erase(seal, text.find("\t}\n", seal) + 3 - seal);
        return text;
    };
    EXPECT_EQ(chains(now), chains(sealed));
    ASSERT_TRUE(restarted.set_syn_proxy(false, err)) << err;
    EXPECT_EQ(tcp_loose(), loose);
}

TEST_F(KernelTest, RefusedBatchNamesTheObjectAndChangesNothing) {
    Model before = testing::two_services();
    Model after = testing::all_features();
    after.cluster_cidrs = before.cluster_cidrs;
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(before, err)) << err;
    std::string chain;
    for (const auto& s : after.services)
        if (s.name == "front") chain = firewall_chain_name(s, s.ports[0]);
    // Someone else created a chain the next batch wants to add.
    ASSERT_EQ(sh("nft add chain ip nfgate " + chain).status, 0);
    std::string held = listing();
    EXPECT_FALSE(kp.apply(after, err));
    EXPECT_NE(err.find("chain " + chain + ": File exists"), std::string::npos) << err;
    EXPECT_EQ(held, listing());
}

TEST_F(KernelTest, CleanupRemovesTheTableAndSucceedsWhenNothingIsThere) {
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(testing::two_services(), err)) << err;
    ASSERT_TRUE(KernelPath::cleanup(err)) << err;
    EXPECT_NE(sh("nft list table ip nfgate").status, 0);
    EXPECT_TRUE(KernelPath::cleanup(err)) << err;
}

TEST_F(KernelTest, VipsBecomeLocalRoutesThatFollowTheModelAndCleanupLeavesOthersAlone) {
    ASSERT_EQ(sh("ip route add local 10.1.2.3 dev lo table local").status, 0);
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(testing::all_features(), err)) << err;
    std::string routes = sh("ip route show table local proto 158").out;
    EXPECT_NE(routes.find("local 10.96.0.0/12 dev lo"), std::string::npos) << routes;
    EXPECT_NE(routes.find("local 198.51.100.7 dev lo"), std::string::npos) << routes;
    EXPECT_NE(routes.find("local 203.0.113.10 dev lo"), std::string::npos) << routes;

    ASSERT_TRUE(kp.apply(testing::two_services(), err)) << err;
    routes = sh("ip route show table local proto 158").out;
    EXPECT_NE(routes.find("local 10.96.0.0/12 dev lo"), std::string::npos) << routes;
    EXPECT_EQ(routes.find("198.51.100.7"), std::string::npos) << routes;

    ASSERT_TRUE(KernelPath::cleanup(err)) << err;
    EXPECT_EQ(sh("ip route show table local proto 158").out, "");
    EXPECT_NE(sh("ip route show table local").out.find("10.1.2.3"), std::string::npos);
    sh("ip route del local 10.1.2.3 dev lo table local");
}

// A run that died after its ruleset but before its routes (kill -9 during --once) left the
// routes of its model: a new process's first apply makes them follow the new one, and a route
// both want is left in place (never deleted and added again, so its VIP never stops answering).
TEST_F(KernelTest, FirstApplyMakesRoutesAnEarlierRunLeftFollowTheModelWithoutAGap) {
    std::string err;
    {
        KernelPath earlier;
        ASSERT_TRUE(earlier.apply(testing::all_features(), err)) << err;
    }
    const std::string events = "/tmp/nfgate-route-events-" + std::to_string(getpid());
    ASSERT_EQ(sh("(ip -o monitor route > " + events + " 2>&1 & echo $! > " + events + ".pid); sleep 0.3").status, 0);
    KernelPath kp;
    const bool applied = kp.apply(testing::two_services(), err);
    sh("sleep 0.3; kill $(cat " + events + ".pid)");
    const std::string seen = sh("cat " + events).out;
    sh("rm -f " + events + " " + events + ".pid");
    ASSERT_TRUE(applied) << err;
    const std::string routes = sh("ip route show table local proto 158").out;
    EXPECT_NE(routes.find("local 10.96.0.0/12 dev lo"), std::string::npos) << routes;
    EXPECT_EQ(routes.find("198.51.100.7"), std::string::npos) << "a route of the earlier model stayed: " << routes;
    EXPECT_NE(seen.find("198.51.100.7"), std::string::npos) << "monitor saw: " << seen;
    EXPECT_EQ(seen.find("10.96.0.0/12"), std::string::npos) << "the kept route was touched: " << seen;
    ASSERT_TRUE(KernelPath::cleanup(err)) << err;
}

bool has_flow_from(const std::string& reply_src) {
    return sh("conntrack -L -p udp").out.find("src=" + reply_src + " ") != std::string::npos;
}

TEST_F(KernelTest, UdpFlowsOfARemovedEndpointAreDeleted) {
    if (sh("command -v conntrack").status != 0) GTEST_SKIP() << "conntrack tool not installed";
    Model m = testing::two_services();
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    // A flow DNATed to the dns endpoint, and one to an address no Service uses.
    ASSERT_EQ(sh("conntrack -I -p udp -s 192.0.2.50 -d 10.96.0.53 --sport 4000 --dport 53 -r 10.244.1.9 "
                 "-q 192.0.2.50 --reply-port-src 53 --reply-port-dst 4000 -t 60").status, 0);
    ASSERT_EQ(sh("conntrack -I -p udp -s 192.0.2.50 -d 10.244.7.7 --sport 4001 --dport 53 -r 10.244.7.7 "
                 "-q 192.0.2.50 --reply-port-src 53 --reply-port-dst 4001 -t 60").status, 0);
    ASSERT_TRUE(has_flow_from("10.244.1.9"));

    for (auto& s : m.services)
        if (s.name == "dns") s.ports[0].endpoints[0].ip = testing::ip("10.244.1.10");
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_FALSE(has_flow_from("10.244.1.9"));
    EXPECT_TRUE(has_flow_from("10.244.7.7"));
}

bool has_flow_to(const std::string& orig_dst, const std::string& reply_src) {
    std::string out = sh("conntrack -L -p udp -d " + orig_dst).out;
    return out.find("src=" + reply_src + " ") != std::string::npos;
}

// The lab's reload case: the endpoint leaves one Service but still serves another. Flows the
// client sent to the first Service's VIP must go; those sent to the second stay.
TEST_F(KernelTest, UdpFlowsAreDeletedPerServiceNotPerEndpoint) {
    if (sh("command -v conntrack").status != 0) GTEST_SKIP() << "conntrack tool not installed";
    Model m = testing::two_services();
    Service copy = *std::find_if(m.services.begin(), m.services.end(), [](const Service& s) { return s.name == "dns"; });
    copy.name = "dns2";
    copy.cluster_ips = {testing::ip("10.96.0.54")};
    m.services.push_back(copy);
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    ASSERT_EQ(sh("conntrack -I -p udp -s 192.0.2.50 -d 10.96.0.53 --sport 4000 --dport 53 -r 10.244.1.9 "
                 "-q 192.0.2.50 --reply-port-src 53 --reply-port-dst 4000 -t 60").status, 0);
    ASSERT_EQ(sh("conntrack -I -p udp -s 192.0.2.50 -d 10.96.0.54 --sport 4001 --dport 53 -r 10.244.1.9 "
                 "-q 192.0.2.50 --reply-port-src 53 --reply-port-dst 4001 -t 60").status, 0);
    ASSERT_TRUE(has_flow_to("10.96.0.53", "10.244.1.9"));
    ASSERT_TRUE(has_flow_to("10.96.0.54", "10.244.1.9"));

    for (auto& s : m.services)
        if (s.name == "dns") s.ports[0].endpoints[0].ip = testing::ip("10.244.1.10");
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_FALSE(has_flow_to("10.96.0.53", "10.244.1.9")) << "dns no longer sends to 10.244.1.9";
    EXPECT_TRUE(has_flow_to("10.96.0.54", "10.244.1.9")) << "dns2 still does";
}

// The same for the IPv6 half: flows to the dns Service's IPv6 ClusterIP whose endpoint left go.
TEST_F(KernelTest, IPv6UdpFlowsOfARemovedEndpointAreDeleted) {
    if (sh("command -v conntrack").status != 0) GTEST_SKIP() << "conntrack tool not installed";
    Model m = dual_stack_model();
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    ASSERT_EQ(sh("conntrack -I -p udp -s 2001:db8:50::50 -d fd00:10:96::10 --sport 4000 --dport 53 -r fd00:10:244:1::10 "
                 "-q 2001:db8:50::50 --reply-port-src 5353 --reply-port-dst 4000 -t 60").status, 0);
    ASSERT_EQ(sh("conntrack -I -p udp -s 2001:db8:50::50 -d fd00:10:244:7::7 --sport 4001 --dport 53 -r fd00:10:244:7::7 "
                 "-q 2001:db8:50::50 --reply-port-src 53 --reply-port-dst 4001 -t 60").status, 0);
    ASSERT_TRUE(has_flow_from("fd00:10:244:1::10"));
    for (auto& s : m.services)
        if (s.name == "web") s.ports[1].endpoints6[0].ip.b[15] = 0x99;  // dns moves to fd00:10:244:1::99
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_FALSE(has_flow_from("fd00:10:244:1::10"));
    EXPECT_TRUE(has_flow_from("fd00:10:244:7::7"));
    ASSERT_TRUE(KernelPath::cleanup(err)) << err;
}

}  // namespace
}  // namespace nfgate::nft

// libFuzzer target: the kernel path's renderer, planner and libnftnl lowering on random valid
// models. The input drives a generator of two models A and B (B: A after a change); each is
// written as manifests and read by the loader, so only what the loader accepts is rendered.
// Invariants:
//  - rendering is deterministic, and re-rendering an unchanged model plans nothing;
//  - the full plan of A and then the incremental plan A -> B, replayed on a model of the kernel's
//    objects with the kernel's rules (nothing added twice with NLM_F_EXCL, nothing deleted that is
//    missing or still referred to, nothing referred to before it exists), leave exactly render(B);
//  - each plan lowers to one well-formed nfnetlink batch: one message per operation plus the
//    begin/end pair, the sequence numbers and `what` in step, every rule message for the chain
//    its operation names, in the same order (objects and text agree).
#include <fuzzer/FuzzedDataProvider.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/loader/config_loader.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"
#include "nft/nft_text.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/manifest_writer.hpp"

namespace {

using namespace nfgate;
using namespace nfgate::nft;

std::string g_dir;
unsigned long g_inputs = 0, g_rendered = 0;  // printed at exit: how many inputs reached the renderer

[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "fuzz_render: %s\n", what.c_str());
    std::abort();
}

// ---- the model generator ----

uint32_t addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

Endpoint gen_endpoint(FuzzedDataProvider& in, unsigned k) {
    Endpoint e;
    e.ip = addr(10, 244, static_cast<uint8_t>(k), in.ConsumeIntegralInRange<uint8_t>(1, 8));
    e.port = in.PickValueInArray<uint16_t>({80, 8080, 53, 443});
    e.ready = in.ConsumeBool();
    e.serving = e.ready || in.ConsumeBool();
    e.terminating = !e.ready && in.ConsumeBool();
    e.zone_hint = static_cast<ZoneHint>(in.ConsumeIntegralInRange<uint8_t>(0, 2));
    return e;
}

Service gen_service(FuzzedDataProvider& in, unsigned k) {
    Service s;
    s.ns = in.ConsumeBool() ? "a" : "b";
    s.name = "s" + std::to_string(k);
    s.cluster_ips = {addr(10, 96, 0, static_cast<uint8_t>(10 + k))};
    if (in.ConsumeBool()) s.external_ips = {addr(192, 0, 2, in.ConsumeIntegralInRange<uint8_t>(50, 53))};
    if (in.ConsumeBool()) s.lb_ips = {addr(192, 0, 2, in.ConsumeIntegralInRange<uint8_t>(100, 103))};
    if (in.ConsumeBool()) s.external_traffic_policy = TrafficPolicy::local;
    if (!s.lb_ips.empty() && in.ConsumeBool()) s.lb_source_ranges = {Cidr{addr(198, 51, 100, 0), 24}};
    if (in.ConsumeBool()) {
        s.affinity_client_ip = true;
        s.affinity_timeout_s = in.ConsumeIntegralInRange<uint32_t>(1, 86400);
    }
    const unsigned ports = in.ConsumeIntegralInRange<unsigned>(1, 3);
    for (unsigned i = 0; i < ports; ++i) {
        ServicePort p;
        p.name = "p" + std::to_string(i);
        p.proto = in.PickValueInArray({Proto::tcp, Proto::udp, Proto::sctp});
        p.port = in.PickValueInArray<uint16_t>({80, 443, 53, 8080});
        if (in.ConsumeBool()) p.node_port = static_cast<uint16_t>(30000 + 4 * k + i);
        const unsigned eps = in.ConsumeIntegralInRange<unsigned>(0, 5);
        for (unsigned j = 0; j < eps; ++j) p.endpoints.push_back(gen_endpoint(in, k));
        s.ports.push_back(std::move(p));
    }
    return s;
}

// B: A with some Services dropped, changed or added.
std::vector<Service> mutate(FuzzedDataProvider& in, std::vector<Service> svcs) {
    std::vector<Service> out;
    for (auto& s : svcs) {
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: continue;  // deleted
            case 1: s = gen_service(in, static_cast<unsigned>(std::stoul(s.name.substr(1)))); break;
            case 2:
                for (auto& p : s.ports)
                    if (!p.endpoints.empty()) p.endpoints.erase(p.endpoints.begin());
                break;
            case 3: s.affinity_client_ip = !s.affinity_client_ip; break;
            default: break;
        }
        out.push_back(std::move(s));
    }
    const unsigned added = in.ConsumeIntegralInRange<unsigned>(0, 2);
    for (unsigned i = 0; i < added; ++i) out.push_back(gen_service(in, 8 + i));
    return out;
}

// Through the loader: nullopt when it refuses the generated Services (a clash, say).
std::optional<Model> load(const std::vector<Service>& svcs) {
    Model m;
    m.services = svcs;
    std::filesystem::remove_all(g_dir + "/cluster");
    std::filesystem::create_directories(g_dir + "/cluster");
    std::ofstream(g_dir + "/cluster/services.yaml")
        << fuzz::write_manifests(m, fuzz::ManifestFormat::yaml, "zone-a", "zone-b");
    loader::LoadResult r = loader::load_config(g_dir + "/gateway.yaml");
    if (!r.ok()) return std::nullopt;
    return std::move(r.model);
}

// ---- the kernel's objects, as the plan's replay sees them ----

// The set or map an expression names; nullptr for one that names none.
const std::string* set_named(const Expr& e) {
    const std::string* ref = nullptr;
    std::visit([&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, MatchSet> || std::is_same_v<T, MatchCtFrontend> ||
                      std::is_same_v<T, MatchTcpFrontend> || std::is_same_v<T, LimitPerSource>)
            ref = &x.set;
        else if constexpr (std::is_same_v<T, VmapAddrProtoPort> || std::is_same_v<T, VmapProtoPort> ||
                           std::is_same_v<T, UpdateAffinity> || std::is_same_v<T, DnatEndpointMap> ||
                           std::is_same_v<T, DnatAffinity>)
            ref = &x.map;
    }, e);
    return ref;
}

struct Kernel {
    bool table = false;
    std::map<std::string, Set> sets;      // elements kept sorted
    std::map<std::string, Chain> chains;
    std::set<std::string> counters;

    bool set_referred(const std::string& name) const {
        for (const auto& [_, c] : chains)
            for (const auto& r : c.rules)
                for (const auto& e : r.exprs)
                    if (const std::string* ref = set_named(e); ref != nullptr && *ref == name) return true;
        return false;
    }
    bool chain_referred(const std::string& name) const {
        for (const auto& [_, s] : sets)
            for (const auto& e : s.elems)
                if (s.verdict_map && e.goto_chain == name) return true;
        for (const auto& [_, c] : chains)
            for (const auto& r : c.rules)
                for (const auto& e : r.exprs)
                    if (auto* v = std::get_if<Verdict>(&e); v && v->chain == name) return true;
        return false;
    }
    void rule_refs_exist(const Rule& r, const std::string& chain) const {
        for (const auto& e : r.exprs)
            if (auto* v = std::get_if<Verdict>(&e); v && !v->chain.empty() && !chains.count(v->chain))
                finding("rule in " + chain + " jumps to missing chain " + v->chain);
        for (const auto& e : r.exprs)
            if (const std::string* ref = set_named(e); ref != nullptr && !sets.count(*ref))
                finding("rule in " + chain + " uses set " + *ref + " before it exists");
    }

    void apply(const Plan& p) {
        for (const Op& op : p.ops) {
            switch (op.kind) {
                case OpKind::add_table: table = true; break;
                case OpKind::delete_table:
                    if (!table) finding("delete of a missing table");
                    *this = Kernel{};
                    break;
                case OpKind::delete_elems: {
                    auto it = sets.find(op.set->name);
                    if (it == sets.end()) finding("delete elements of missing set " + op.set->name);
                    for (const auto& e : op.elems) {
                        auto& v = it->second.elems;
                        auto at = std::find(v.begin(), v.end(), e);
                        if (at == v.end()) finding("delete of a missing element of " + op.set->name);
                        v.erase(at);
                    }
                    break;
                }
                case OpKind::flush_chain:
                    if (!chains.count(op.chain->name)) finding("flush of missing chain " + op.chain->name);
                    chains[op.chain->name].rules.clear();
                    break;
                case OpKind::delete_chain:
                    if (!chains.count(op.chain->name)) finding("delete of missing chain " + op.chain->name);
                    chains.erase(op.chain->name);
                    if (chain_referred(op.chain->name)) finding("delete of chain still referred to: " + op.chain->name);
                    break;
                case OpKind::delete_set:
                    if (!sets.count(op.set->name)) finding("delete of missing set " + op.set->name);
                    if (set_referred(op.set->name)) finding("delete of set still referred to: " + op.set->name);
                    sets.erase(op.set->name);
                    break;
                case OpKind::add_set: {
                    if (!table) finding("set added before the table");
                    if (sets.count(op.set->name)) finding("set added twice (EXCL): " + op.set->name);
                    Set s = *op.set;
                    s.elems.clear();
                    sets.emplace(s.name, std::move(s));
                    break;
                }
                case OpKind::add_chain: {
                    if (!table) finding("chain added before the table");
                    if (chains.count(op.chain->name)) finding("chain added twice (EXCL): " + op.chain->name);
                    Chain c = *op.chain;
                    c.rules.clear();
                    chains.emplace(c.name, std::move(c));
                    break;
                }
                case OpKind::add_rule:
                    if (!chains.count(op.chain->name)) finding("rule added to missing chain " + op.chain->name);
                    rule_refs_exist(*op.rule, op.chain->name);
                    chains[op.chain->name].rules.push_back(*op.rule);
                    break;
                case OpKind::add_elems: {
                    auto it = sets.find(op.set->name);
                    if (it == sets.end()) finding("elements added to missing set " + op.set->name);
                    for (const auto& e : op.elems) {
                        auto& v = it->second.elems;
                        if (std::find(v.begin(), v.end(), e) != v.end()) finding("element added twice (EXCL) to " + op.set->name);
                        if (it->second.verdict_map && !chains.count(e.goto_chain))
                            finding("element of " + op.set->name + " goes to missing chain " + e.goto_chain);
                        v.push_back(e);
                    }
                    std::sort(it->second.elems.begin(), it->second.elems.end());
                    break;
                }
                case OpKind::add_counter:
                    if (!counters.insert(*op.counter).second) finding("counter added twice (EXCL): " + *op.counter);
                    break;
                case OpKind::delete_counter:
                    if (!counters.erase(*op.counter)) finding("delete of missing counter " + *op.counter);
                    for (const auto& [_, c] : chains)
                        for (const auto& r : c.rules)
                            for (const auto& e : r.exprs)
                                if (auto* ref = std::get_if<CounterRef>(&e); ref && ref->name == *op.counter)
                                    finding("delete of counter still referred to: " + *op.counter);
                    break;
            }
        }
    }

    void expect(const Ruleset& rs, const char* when) const {
        if (counters != std::set<std::string>(rs.counters.begin(), rs.counters.end()))
            finding(std::string(when) + ": counters differ from the rendering");
        if (sets.size() != rs.sets.size() || chains.size() != rs.chains.size())
            finding(std::string(when) + ": object count differs from the rendering");
        for (Set s : rs.sets) {
            std::sort(s.elems.begin(), s.elems.end());
            auto it = sets.find(s.name);
            if (it == sets.end() || !(it->second == s)) finding(std::string(when) + ": set differs: " + s.name);
        }
        for (const Chain& c : rs.chains) {
            auto it = chains.find(c.name);
            if (it == chains.end() || !(it->second == c)) finding(std::string(when) + ": chain differs: " + c.name);
        }
    }
};

// ---- the lowered batch ----

void check_batch(const Plan& p) {
    constexpr uint32_t kFirstSeq = 1000;
    Batch b = build_batch(p, kFirstSeq);
    std::vector<std::string> rule_chains;  // in message order
    size_t messages = 0;
    const char* buf = b.buf.data();
    int len = static_cast<int>(b.buf.size());
    auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
    uint32_t expect_seq = kFirstSeq;
    while (mnl_nlmsg_ok(nlh, len)) {
        if (nlh->nlmsg_seq != expect_seq++) finding("batch sequence numbers not consecutive");
        const uint16_t type = nlh->nlmsg_type;
        if (type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE)) {
            std::unique_ptr<nftnl_rule, decltype(&nftnl_rule_free)> r(nftnl_rule_alloc(), nftnl_rule_free);
            if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) finding("a rule message libnftnl cannot parse back");
            const char* table = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
            const char* chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
            if (table == nullptr || p.table != table) finding("a rule message for another table");
            rule_chains.push_back(chain != nullptr ? chain : "");
        }
        ++messages;
        nlh = mnl_nlmsg_next(nlh, &len);
    }
    if (len != 0) finding("trailing bytes after the last message of the batch");
    if (messages != b.what.size()) finding("`what` does not name every message");
    std::vector<std::string> want;
    for (const Op& op : p.ops)
        if (op.kind == OpKind::add_rule) want.push_back(op.chain->name);
    if (rule_chains != want) finding("the batch's rules are not the plan's rules, in order");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    g_dir = fuzz::scratch_dir("render");
    std::ofstream(g_dir + "/gateway.yaml") << fuzz::kGateway;
    std::atexit([] {
        std::filesystem::remove_all(g_dir);
        std::fprintf(stderr, "fuzz_render: %lu of %lu inputs made two valid models and were checked\n", g_rendered, g_inputs);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ++g_inputs;
    FuzzedDataProvider in(data, size);
    std::vector<Service> svcs;
    const unsigned n = in.ConsumeIntegralInRange<unsigned>(0, 6);
    for (unsigned k = 0; k < n; ++k) svcs.push_back(gen_service(in, k));
    std::vector<Service> next = mutate(in, svcs);
    std::optional<Model> a = load(svcs);
    std::optional<Model> b = load(next);
    if (!a || !b) return 0;
    ++g_rendered;

    const Ruleset ra = render(*a), rb = render(*b);
    if (!(render(*a) == ra)) finding("rendering is not deterministic");
    if (!diff_plan(ra, ra).empty()) finding("an unchanged model plans changes");
    if (to_nft_text(ra).empty()) finding("empty ruleset text");

    Kernel k;
    const Plan full = full_plan(ra);
    k.apply(full);
    k.expect(ra, "after the full plan of A");
    const Plan diff = diff_plan(ra, rb);
    k.apply(diff);
    k.expect(rb, "after the plan A -> B");
    check_batch(full);
    check_batch(diff);
    return 0;
}

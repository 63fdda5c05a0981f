#include "nft/nft_plan.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "nft/nft_text.hpp"

namespace nfgate::nft {
namespace {

template <class T>
std::unordered_map<std::string_view, const T*> by_name(const std::vector<T>& v) {
    std::unordered_map<std::string_view, const T*> m;
    m.reserve(v.size());
    for (const auto& x : v) m.emplace(x.name, &x);
    return m;
}

bool references_set(const Chain& c, const std::string& set) {
    for (const auto& r : c.rules)
        for (const auto& e : r.exprs) {
            if (auto* ms = std::get_if<MatchSet>(&e); ms && ms->set == set) return true;
            if (auto* u = std::get_if<UpdateAffinity>(&e); u && u->map == set) return true;
            if (auto* d = std::get_if<DnatAffinity>(&e); d && d->map == set) return true;
            if (auto* d = std::get_if<DnatEndpointMap>(&e); d && d->map == set) return true;
            if (auto* v = std::get_if<VmapAddrProtoPort>(&e); v && v->map == set) return true;
            if (auto* v = std::get_if<VmapProtoPort>(&e); v && v->map == set) return true;
            if (auto* f = std::get_if<MatchTcpFrontend>(&e); f && f->set == set) return true;
            if (auto* l = std::get_if<LimitPerSource>(&e); l && l->set == set) return true;
        }
    return false;
}

std::vector<SetElem> sorted(std::vector<SetElem> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// Elements in `a` and not in `b`.
std::vector<SetElem> minus(const std::vector<SetElem>& a, const std::vector<SetElem>& b) {
    std::vector<SetElem> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

void add_chain_with_rules(Plan& p, std::vector<Op>& rules, const Chain& c) {
    p.ops.push_back(Op{OpKind::add_chain, nullptr, &c, nullptr, {}});
    for (const auto& r : c.rules) rules.push_back(Op{OpKind::add_rule, nullptr, &c, &r, {}});
}

const char* op_verb(OpKind k) {
    switch (k) {
        case OpKind::add_table: return "add table";
        case OpKind::delete_table: return "delete table";
        case OpKind::delete_elems: return "delete element";
        case OpKind::flush_chain: return "flush chain";
        case OpKind::delete_chain: return "delete chain";
        case OpKind::delete_set: return "delete set";
        case OpKind::add_set: return "add set";
        case OpKind::add_chain: return "add chain";
        case OpKind::add_rule: return "add rule";
        case OpKind::add_elems: return "add element";
        case OpKind::add_counter: return "add counter";
        case OpKind::delete_counter: return "delete counter";
    }
    return "";
}

}  // namespace

Plan full_plan(const Ruleset& rs) {
    Plan p;
    p.table = rs.table;
    p.family = rs.family;
    p.ops.push_back(Op{OpKind::add_table, nullptr, nullptr, nullptr, {}});
    p.ops.push_back(Op{OpKind::delete_table, nullptr, nullptr, nullptr, {}});
    p.ops.push_back(Op{OpKind::add_table, nullptr, nullptr, nullptr, {}});
    for (const auto& c : rs.counters) p.ops.push_back(Op{OpKind::add_counter, nullptr, nullptr, nullptr, {}, &c});
    for (const auto& s : rs.sets) p.ops.push_back(Op{OpKind::add_set, &s, nullptr, nullptr, {}});
    std::vector<Op> rules;
    for (const auto& c : rs.chains) add_chain_with_rules(p, rules, c);
    for (const auto& s : rs.sets)
        if (!s.elems.empty()) p.ops.push_back(Op{OpKind::add_elems, &s, nullptr, nullptr, s.elems});
    for (auto& r : rules) p.ops.push_back(std::move(r));
    return p;
}

// Order matters to the kernel: nothing may be deleted while something still refers to it, and
// nothing may be referred to before it is added. Elements pointing at chains go first and come
// back last; chains are flushed before the chains and sets their rules use are deleted.
Plan diff_plan(const Ruleset& old, const Ruleset& now) {
    Plan p;
    p.table = now.table;
    p.family = now.family;
    auto old_sets = by_name(old.sets);
    auto old_chains = by_name(old.chains);
    auto new_sets = by_name(now.sets);
    auto new_chains = by_name(now.chains);

    std::vector<const Set*> redefined;
    std::vector<Op> del_elems, add_elems, rules;
    for (const auto& s : now.sets) {
        auto it = old_sets.find(s.name);
        if (it == old_sets.end()) continue;
        const Set& o = *it->second;
        if (!s.same_definition(o)) {
            redefined.push_back(&s);
            continue;
        }
        if (o.elems == s.elems) continue;
        auto os = sorted(o.elems), ns = sorted(s.elems);
        if (auto gone = minus(os, ns); !gone.empty())
            del_elems.push_back(Op{OpKind::delete_elems, &o, nullptr, nullptr, std::move(gone)});
        if (auto fresh = minus(ns, os); !fresh.empty())
            add_elems.push_back(Op{OpKind::add_elems, &s, nullptr, nullptr, std::move(fresh)});
    }

    std::unordered_set<std::string_view> rebuilt;  // chains whose rules are flushed and added again
    for (const auto& c : now.chains) {
        auto it = old_chains.find(c.name);
        if (it == old_chains.end()) continue;
        bool uses_redefined = std::any_of(redefined.begin(), redefined.end(),
                                          [&](const Set* s) { return references_set(c, s->name); });
        if (!(*it->second == c) || uses_redefined) rebuilt.insert(c.name);
    }

    for (auto& op : del_elems) p.ops.push_back(std::move(op));
    for (const auto& c : old.chains)
        if (rebuilt.count(c.name) || !new_chains.count(c.name))
            p.ops.push_back(Op{OpKind::flush_chain, nullptr, &c, nullptr, {}});
    for (const auto& c : old.chains)
        if (!new_chains.count(c.name)) p.ops.push_back(Op{OpKind::delete_chain, nullptr, &c, nullptr, {}});
    for (const auto& s : old.sets)
        if (!new_sets.count(s.name)) p.ops.push_back(Op{OpKind::delete_set, &s, nullptr, nullptr, {}});
    for (const Set* s : redefined)
        p.ops.push_back(Op{OpKind::delete_set, old_sets.at(s->name), nullptr, nullptr, {}});
    auto has = [](const std::vector<std::string>& v, const std::string& x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    };
    for (const auto& c : old.counters)
        if (!has(now.counters, c)) p.ops.push_back(Op{OpKind::delete_counter, nullptr, nullptr, nullptr, {}, &c});
    for (const auto& c : now.counters)
        if (!has(old.counters, c)) p.ops.push_back(Op{OpKind::add_counter, nullptr, nullptr, nullptr, {}, &c});
    for (const auto& s : now.sets)
        if (!old_sets.count(s.name)) p.ops.push_back(Op{OpKind::add_set, &s, nullptr, nullptr, {}});
    for (const Set* s : redefined) p.ops.push_back(Op{OpKind::add_set, s, nullptr, nullptr, {}});
    for (const auto& c : now.chains) {
        if (!old_chains.count(c.name)) {
            add_chain_with_rules(p, rules, c);
        } else if (rebuilt.count(c.name)) {
            for (const auto& r : c.rules) rules.push_back(Op{OpKind::add_rule, nullptr, &c, &r, {}});
        }
    }
    for (auto& op : rules) p.ops.push_back(std::move(op));
    for (const auto& s : now.sets)
        if (!s.elems.empty() && !old_sets.count(s.name)) p.ops.push_back(Op{OpKind::add_elems, &s, nullptr, nullptr, s.elems});
    for (const Set* s : redefined)
        if (!s->elems.empty()) p.ops.push_back(Op{OpKind::add_elems, s, nullptr, nullptr, s->elems});
    for (auto& op : add_elems) p.ops.push_back(std::move(op));
    return p;
}

std::vector<std::string> Plan::describe() const {
    std::vector<std::string> out;
    for (const auto& op : ops) {
        std::string verb = op_verb(op.kind);
        switch (op.kind) {
            case OpKind::add_table:
            case OpKind::delete_table: out.push_back(verb + " " + table); break;
            case OpKind::flush_chain:
            case OpKind::delete_chain:
            case OpKind::add_chain: out.push_back(verb + " " + op.chain->name); break;
            case OpKind::add_rule: out.push_back(verb + " " + op.chain->name + ": " + rule_text(*op.rule)); break;
            case OpKind::delete_set:
            case OpKind::add_set: out.push_back(verb + " " + op.set->name); break;
            case OpKind::delete_elems:
            case OpKind::add_elems:
                for (const auto& e : op.elems) out.push_back(verb + " " + op.set->name + " " + elem_text(*op.set, e));
                break;
            case OpKind::add_counter:
            case OpKind::delete_counter: out.push_back(verb + " " + *op.counter); break;
        }
    }
    return out;
}

}  // namespace nfgate::nft

#include "nft/kernel_path.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "nft/conntrack_flush.hpp"
#include "nft/local_routes.hpp"
#include "nft/model_changes.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"

namespace nfgate::nft {

// What the kernel holds since the last successful apply. The model, not its rendering, is kept:
// a change to a few Services renders only those Services (see render_services).
struct KernelPath::State {
    std::optional<Model> model;
    std::map<PickChain, size_t> pick_users;  // service ports sending traffic to each shared chain
    std::map<uint32_t, size_t> hairpin_users;  // ready endpoint entries with each hairpin address
    uint32_t map_capacity = 0;               // endpoint_map_capacity(*model)
    std::vector<Cidr> routes;
};

KernelPath::KernelPath() : state_(std::make_unique<State>()) {}
KernelPath::~KernelPath() = default;

namespace {

bool run_plan(const Plan& plan, std::string& err) {
    if (plan.empty()) return true;
    Batch b = build_batch(plan, next_batch_seq(static_cast<uint32_t>(plan.ops.size() * 2 + 2)));
    if (send_batch(b, err)) return true;
    err = "kernel path: " + err;
    return false;
}

void count_picks(const Model& m, const Service& s, std::map<PickChain, size_t>& users, int sign) {
    for (const auto& p : s.ports)
        if (auto pick = pick_chain_of(m, s, p)) users[*pick] += static_cast<size_t>(sign);
}

void count_hairpin(const Model& m, const Service& s, std::map<uint32_t, size_t>& users, int sign) {
    for (uint32_t ip : hairpin_addresses(m, s)) users[ip] += static_cast<size_t>(sign);
}

std::map<PickChain, size_t> all_picks(const Model& m) {
    std::map<PickChain, size_t> users;
    for (const auto& s : m.services) count_picks(m, s, users, 1);
    return users;
}

std::map<uint32_t, size_t> all_hairpin(const Model& m) {
    std::map<uint32_t, size_t> users;
    for (const auto& s : m.services) count_hairpin(m, s, users, 1);
    return users;
}

// Keys whose count went from zero (or absent) to some, and from some to zero.
template <typename K>
void shared_moves(const std::map<K, size_t>& was, std::map<K, size_t>& now, std::set<K>& dropped, std::set<K>& created) {
    for (const auto& [k, n] : was)
        if (n > 0 && now[k] == 0) dropped.insert(k);
    for (const auto& [k, n] : now) {
        auto it = was.find(k);
        if (n > 0 && (it == was.end() || it->second == 0)) created.insert(k);
    }
}

std::vector<Cidr> minus(const std::vector<Cidr>& a, const std::vector<Cidr>& b) {
    std::vector<Cidr> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

std::vector<const Service*> all_services(const Model& m) {
    std::vector<const Service*> out;
    for (const auto& s : m.services) out.push_back(&s);
    return out;
}

}  // namespace

bool KernelPath::apply(const Model& m, std::string& err) {
    State& st = *state_;
    ServiceChanges changes;
    bool first = !st.model;
    uint32_t capacity = endpoint_map_capacity(m);
    if (first) {
        if (!run_plan(full_plan(render(m)), err)) return false;
        st.model = m;
        st.pick_users = all_picks(m);
        st.hairpin_users = all_hairpin(m);
    } else if (!same_ruleset_globals(*st.model, m) || !changed_services(*st.model, m, changes) ||
               st.map_capacity != capacity) {
        // Something every service's rendering depends on changed (a setting, or the endpoint
        // map's size, which replaces the map): compare whole renderings.
        changes = {all_services(*st.model), all_services(m)};
        if (!run_plan(diff_plan(render(*st.model), render(m)), err)) return false;
        std::vector<StaleUdpFlow> stale = stale_udp_flows(*st.model, changes.before, m, changes.after);
        st.model = m;
        st.pick_users = all_picks(m);
        st.hairpin_users = all_hairpin(m);
        changes = {};
        size_t deleted = 0;
        if (!flush_udp_flows(stale, deleted, err)) return false;
    } else if (!changes.empty()) {
        // A shared endpoint chain or hairpin element is added when its first user appears,
        // removed with its last.
        std::map<PickChain, size_t> users = st.pick_users;
        std::map<uint32_t, size_t> hairpin = st.hairpin_users;
        for (const Service* s : changes.before) {
            count_picks(*st.model, *s, users, -1);
            count_hairpin(*st.model, *s, hairpin, -1);
        }
        for (const Service* s : changes.after) {
            count_picks(m, *s, users, 1);
            count_hairpin(m, *s, hairpin, 1);
        }
        SharedParts dropped, created;
        shared_moves(st.pick_users, users, dropped.picks, created.picks);
        shared_moves(st.hairpin_users, hairpin, dropped.hairpin, created.hairpin);
        Ruleset old_part = render_services(*st.model, changes.before, dropped, capacity);
        Ruleset new_part = render_services(m, changes.after, created, capacity);
        if (!run_plan(diff_plan(old_part, new_part), err)) return false;
        std::vector<StaleUdpFlow> stale = stale_udp_flows(*st.model, changes.before, m, changes.after);
        adopt_services(*st.model, m, changes);
        st.pick_users = std::move(users);
        st.hairpin_users = std::move(hairpin);
        size_t deleted = 0;
        if (!flush_udp_flows(stale, deleted, err)) return false;
    }

    st.map_capacity = capacity;

    // The ruleset is in force from here; routes complete it, and a failure is reported without
    // forgetting what was applied.
    std::vector<Cidr> routes = local_route_prefixes(m);
    if (first && !remove_all_local_routes(err)) return false;
    const std::vector<Cidr> none;
    const std::vector<Cidr>& had = first ? none : st.routes;
    if (!update_local_routes(minus(routes, had), minus(had, routes), err)) return false;
    st.routes = std::move(routes);
    return true;
}

bool KernelPath::cleanup(std::string& err) {
    Plan plan;
    plan.ops.push_back(Op{OpKind::add_table, nullptr, nullptr, nullptr, {}});
    plan.ops.push_back(Op{OpKind::delete_table, nullptr, nullptr, nullptr, {}});
    if (!run_plan(plan, err)) {
        err = "cleanup: " + err;
        return false;
    }
    return remove_all_local_routes(err);
}

}  // namespace nfgate::nft

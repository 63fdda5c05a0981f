#include "nft/kernel_path.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "nft/affinity_sweep.hpp"
#include "nft/conntrack_flush.hpp"
#include "nft/local_routes.hpp"
#include "nft/model_changes.hpp"
#include "nft/ndp_proxy.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_flood_render.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"
#include "nft/ruleset_seal.hpp"
#include "nft/tcp_loose.hpp"

namespace nfgate::nft {

// What the kernel holds since the last successful apply. The model, not its rendering, is kept:
// a change to a few Services renders only those Services (see render_services). The counts and
// sums over all Services are kept too, so a change updates them from the changed Services alone.
struct KernelPath::State {
    std::optional<Model> model;
    // Per family (the ip table, the ip6 table), what all Services share:
    struct Shared {
        std::map<PickChain, long> pick_users;  // service ports sending traffic to each shared chain
        std::unordered_map<Addr, long, AddrHash> hairpin_users;  // ready endpoint entries with each hairpin address
        uint64_t map_need = 0;                 // sum of endpoint_map_need over the Services
        uint32_t map_capacity = 0;             // endpoint_map_capacity_for(map_need)
    } shared[2];
    // Per family, the table's seal (ruleset_seal.hpp).
    struct Sealing {
        Seal seal;            // the plan operations' chain and rule
        bool sealed = false;  // the table's seal names what `model` renders to
    } sealing[2];
    std::vector<Cidr> routes;
    std::vector<Cidr6> routes6;
    std::vector<NdpProxy> ndp;  // proxy neighbour entries of in-subnet IPv6 VIPs
    bool adopted = false;  // the first apply found both tables sealed and changed nothing
    bool syn_proxy = false;  // the SYN proxy's set holds the frontends
    TcpLoose loose;
    bool ip6_table = false;  // the `ip6 nfgate` table is written (the model has an IPv6 half)

    Shared& of(Family f) { return shared[f == Family::ip6 ? 1 : 0]; }
    Sealing& seal_of(Family f) { return sealing[f == Family::ip6 ? 1 : 0]; }
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

// What an applied change leaves outside the ruleset for its Services (as `was` held the ones in
// `before`, and `now` the ones in `after`): kernel conntrack entries of UDP flows whose endpoint
// went away, affinity pins of endpoints that left. Worked out before the held model moves on,
// cleared once the change is in force.
struct Leftovers {
    std::vector<StaleUdpFlow> udp;
    std::vector<StaleUdpFlow6> udp6;
    std::vector<AffinityKeep> pins;

    Leftovers(const Model& was, const std::vector<const Service*>& before, const Model& now,
              const std::vector<const Service*>& after)
        : udp(stale_udp_flows(was, before, now, after)),
          udp6(stale_udp_flows6(was, before, now, after)),
          pins(shrunk_affinity_maps(before, after)) {}

    bool clear(std::string& err) const {
        size_t deleted = 0;
        return flush_udp_flows(udp, deleted, err) && flush_udp_flows(udp6, deleted, err) && sweep_affinity(pins, err);
    }
};

template <typename Users>
void count_picks(const Model& m, const Service& s, Users& users, long sign, Family f) {
    for (const auto& p : s.ports)
        for (const PickChain& pick : pick_chains_of(m, s, p, f)) users[pick] += sign;
}

template <typename Users>
void count_hairpin(const Model& m, const Service& s, Users& users, long sign, Family f) {
    for (const Addr& ip : hairpin_addresses(m, s, f)) users[ip] += sign;
}

// Keys that lose their last user or gain their first when `delta` is added to `users`.
template <typename Users, typename K>
void shared_moves(const Users& users, const std::map<K, long>& delta, std::set<K>& dropped, std::set<K>& created) {
    for (const auto& [k, d] : delta) {
        auto it = users.find(k);
        long was = it == users.end() ? 0 : it->second;
        if (was > 0 && was + d == 0) dropped.insert(k);
        if (was == 0 && was + d > 0) created.insert(k);
    }
}

template <typename Users, typename K>
void add_delta(Users& users, const std::map<K, long>& delta) {
    for (const auto& [k, d] : delta) {
        auto it = users.emplace(k, 0).first;
        it->second += d;
        if (it->second == 0) users.erase(it);
    }
}

// The externalIPs and LB IPs of `services` (both families): local routes can change only when
// these do.
std::vector<Addr> routed_ips(const std::vector<const Service*>& services) {
    std::vector<Addr> out;
    for (const Service* s : services) {
        for (const auto* ips : {&s->external_ips, &s->lb_ips}) out.insert(out.end(), ips->begin(), ips->end());
        for (const auto* ips : {&s->external_ips6, &s->lb_ips6}) out.insert(out.end(), ips->begin(), ips->end());
    }
    std::sort(out.begin(), out.end());
    return out;
}

template <typename C>
std::vector<C> minus(const std::vector<C>& a, const std::vector<C>& b) {
    std::vector<C> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

// Whether the model has an IPv6 half for the `ip6` table: an IPv6 address to serve from, IPv6
// pods to masquerade or IPv6 Service addresses to drop.
bool serves_ipv6(const Model& m) { return m.has_ipv6() || !m.cluster_cidrs6.empty() || !m.service_cidrs6.empty(); }

constexpr Family kFamilies[] = {Family::ip, Family::ip6};

// Deletes the table of `family` named nfgate; nothing there is fine (created first, in the batch).
bool drop_table(Family family, std::string& err) {
    Plan plan;
    plan.family = family;
    plan.ops.push_back(Op{OpKind::add_table, nullptr, nullptr, nullptr, {}});
    plan.ops.push_back(Op{OpKind::delete_table, nullptr, nullptr, nullptr, {}});
    return run_plan(plan, err);
}

std::vector<const Service*> all_services(const Model& m) {
    std::vector<const Service*> out;
    for (const auto& s : m.services) out.push_back(&s);
    return out;
}

}  // namespace

void KernelPath::count_all(const Model& m) {
    State& st = *state_;
    for (Family f : kFamilies) {
        State::Shared& sh = st.of(f);
        sh = {};
        for (const auto& s : m.services) {
            count_picks(m, s, sh.pick_users, 1, f);
            count_hairpin(m, s, sh.hairpin_users, 1, f);
            sh.map_need += endpoint_map_need(m, s, f);
        }
        sh.map_capacity = endpoint_map_capacity_for(sh.map_need);
    }
}

bool KernelPath::apply_changes(const Model& m, const ServiceChanges& changes, std::string& err) {
    State& st = *state_;
    // A shared endpoint chain or hairpin element is added when its first user appears, removed
    // with its last. Each family's table has its own.
    std::map<PickChain, long> picks[2];
    std::map<Addr, long> hairpin[2];
    Ruleset old_part[2], new_part[2];  // the plans point into these
    Plan plans[2];
    for (Family f : kFamilies) {
        const int i = f == Family::ip6 ? 1 : 0;
        if (f == Family::ip6 && !st.ip6_table) continue;
        for (const Service* s : changes.before) {
            count_picks(*st.model, *s, picks[i], -1, f);
            count_hairpin(*st.model, *s, hairpin[i], -1, f);
        }
        for (const Service* s : changes.after) {
            count_picks(m, *s, picks[i], 1, f);
            count_hairpin(m, *s, hairpin[i], 1, f);
        }
        const State::Shared& sh = st.of(f);
        SharedParts dropped, created;
        shared_moves(sh.pick_users, picks[i], dropped.picks, created.picks);
        shared_moves(sh.hairpin_users, hairpin[i], dropped.hairpin, created.hairpin);
        old_part[i] = render_services(*st.model, changes.before, dropped, sh.map_capacity, st.syn_proxy, f);
        new_part[i] = render_services(m, changes.after, created, sh.map_capacity, st.syn_proxy, f);
        plans[i] = diff_plan(old_part[i], new_part[i]);
    }
    if (!run_unsealing(std::move(plans[0]), err) || !run_unsealing(std::move(plans[1]), err)) return false;
    const Leftovers leftovers(*st.model, changes.before, m, changes.after);
    bool routes_same = routed_ips(changes.before) == routed_ips(changes.after);
    adopt_services(*st.model, m, changes);
    for (Family f : kFamilies) {
        const int i = f == Family::ip6 ? 1 : 0;
        add_delta(st.of(f).pick_users, picks[i]);
        add_delta(st.of(f).hairpin_users, hairpin[i]);
    }
    if (!leftovers.clear(err)) return false;
    return routes_same || update_routes(m, false, err);
}

// An incremental batch also breaks the seal, in the same transaction: from now on only this
// run knows what the table holds.
// Each table (the plan's family) has its seal.
bool KernelPath::run_unsealing(Plan plan, std::string& err) {
    if (plan.empty()) return true;
    State::Sealing& sh = state_->seal_of(plan.family);
    if (sh.sealed) sh.seal.append(plan, "", false);
    if (!run_plan(plan, err)) return false;
    sh.sealed = false;
    return true;
}

// A table written whole: adopted as it is when its seal names `rs`'s fingerprint, otherwise
// replaced by `rs`, sealed in the same batch. The same for the ip and the ip6 table.
bool KernelPath::write_sealed(const Ruleset& rs, bool& adopted, std::string& err) {
    State::Sealing& sh = state_->seal_of(rs.family);
    const std::string fingerprint = ruleset_fingerprint(rs);
    std::string found;
    if (!read_seal(rs.family, found, err)) return false;
    adopted = found == fingerprint;
    if (!adopted) {
        Plan plan = full_plan(rs);
        sh.seal.append(plan, fingerprint, true);
        if (!run_plan(plan, err)) return false;
    }
    sh.sealed = true;
    return true;
}

// The first apply adopts a table sealed with this model's rendering as it is; anything else is
// replaced whole, sealed in the same batch.
// The table is written (or adopted) with the SYN proxy off, as a clean stop seals it, so a
// restart with conntrack.synProxy on adopts it too; the proxy then goes on in a batch of its own.
bool KernelPath::first_apply(const Model& m, std::string& err) {
    State& st = *state_;
    st.syn_proxy = false;
    // A daemon killed while its proxy held nf_conntrack_tcp_loose at 0 left a note of the value.
    if (!st.loose.recover(err)) return false;
    bool adopted = false, adopted6 = true;
    if (!write_sealed(render(m, false), adopted, err)) return false;
    // The ip6 table is adopted or written whole the same way (or removed, when a run before left
    // one the model does not want), in a batch of its own after the ip one.
    if (!write_ip6(nullptr, m, err, &adopted6)) return false;
    st.adopted = adopted && adopted6;
    st.model = m;
    count_all(m);
    if (!update_routes(m, true, err)) return false;
    return m.syn_proxy != SynProxyMode::on || set_syn_proxy(true, err);
}

// The ip6 table when settings all Services depend on changed (or on the first apply, `was`
// null): the difference between whole renderings, or the table written or removed when the
// model gains or loses its IPv6 half.
bool KernelPath::write_ip6(const Model* was, const Model& m, std::string& err, bool* adopted) {
    State& st = *state_;
    const bool want = serves_ipv6(m);
    bool ignored_adoption = false;
    if (!want) {
        // On the first apply, one an earlier run left goes; a host without IPv6 may refuse even
        // to look, which is fine when nothing IPv6 is wanted.
        std::string ignored;
        if (st.ip6_table && !drop_table(Family::ip6, err)) return false;
        if (was == nullptr) drop_table(Family::ip6, ignored);
        st.seal_of(Family::ip6).sealed = false;
    } else if (st.ip6_table && was != nullptr) {
        if (!run_unsealing(diff_plan(render(*was, st.syn_proxy, Family::ip6), render(m, st.syn_proxy, Family::ip6)), err))
            return false;
    } else if (!write_sealed(render(m, st.syn_proxy, Family::ip6), adopted != nullptr ? *adopted : ignored_adoption, err)) {
        return false;
    }
    st.ip6_table = want;
    return true;
}

bool KernelPath::seal(std::string& err) {
    State& st = *state_;
    if (!st.model) return true;
    for (Family f : kFamilies) {
        State::Sealing& sh = st.seal_of(f);
        if (sh.sealed || (f == Family::ip6 && !st.ip6_table)) continue;
        const Ruleset rs = render(*st.model, st.syn_proxy, f);
        Plan plan;
        plan.table = rs.table;
        plan.family = f;
        sh.seal.append(plan, ruleset_fingerprint(rs), false);
        if (!run_plan(plan, err)) return false;
        sh.sealed = true;
    }
    return true;
}

bool KernelPath::adopted() const { return state_->adopted; }

bool KernelPath::syn_proxy() const { return state_->syn_proxy; }

// The sysctl goes strict before the first proxied SYN can be answered, and loose again only
// after the last frontend left the set.
bool KernelPath::set_syn_proxy(bool on, std::string& err) {
    State& st = *state_;
    if (on == st.syn_proxy) return true;
    if (!st.model) {
        err = "kernel path: no ruleset applied yet";
        return false;
    }
    if (on && !st.loose.hold_strict(err)) return false;
    const Ruleset all = render(*st.model, true);
    const Ruleset all6 = st.ip6_table ? render(*st.model, true, Family::ip6) : Ruleset{};
    auto frontends = [&](const Ruleset& rs, Plan& plan) {
        plan.family = rs.family;
        for (const Set& s : rs.sets)
            if (s.name == kSynProxySet && !s.elems.empty())
                plan.ops.push_back(Op{on ? OpKind::add_elems : OpKind::delete_elems, &s, nullptr, nullptr, s.elems});
    };
    Plan plan, plan6;
    frontends(all, plan);
    frontends(all6, plan6);
    if (!run_unsealing(std::move(plan), err) || !run_unsealing(std::move(plan6), err)) {
        std::string ignored;  // the refusal is what the caller needs to hear
        if (on) st.loose.restore(ignored);
        return false;
    }
    st.syn_proxy = on;
    return on || st.loose.restore(err);
}

bool KernelPath::apply(const Model& m, std::string& err) {
    State& st = *state_;
    if (!st.model) return first_apply(m, err);
    ServiceChanges changes;
    if (same_ruleset_globals(*st.model, m) && changed_services(*st.model, m, changes)) {
        if (changes.empty()) return true;
        uint64_t need[2];
        bool same_size = true;
        for (Family f : kFamilies) {
            const State::Shared& sh = st.of(f);
            uint64_t& n = need[f == Family::ip6 ? 1 : 0];
            n = sh.map_need;
            for (const Service* s : changes.before) n -= endpoint_map_need(*st.model, *s, f);
            for (const Service* s : changes.after) n += endpoint_map_need(m, *s, f);
            same_size = same_size && (endpoint_map_capacity_for(n) == sh.map_capacity || (f == Family::ip6 && !st.ip6_table));
        }
        if (same_size) {
            st.of(Family::ip).map_need = need[0];
            st.of(Family::ip6).map_need = need[1];
            return apply_changes(m, changes, err);
        }
    }
    // Something every service's rendering depends on changed (a setting, or the endpoint map's
    // size, which replaces the map): compare whole renderings.
    if (!run_unsealing(diff_plan(render(*st.model, st.syn_proxy), render(m, st.syn_proxy)), err)) return false;
    if (!write_ip6(&*st.model, m, err)) return false;
    const Leftovers leftovers(*st.model, all_services(*st.model), m, all_services(m));
    st.model = m;
    count_all(m);
    if (!leftovers.clear(err)) return false;
    return update_routes(m, false, err);
}

// The ruleset is in force when this runs; routes complete it, and a failure is reported without
// forgetting what was applied.
bool KernelPath::update_routes(const Model& m, bool first, std::string& err) {
    State& st = *state_;
    std::vector<Cidr> routes = local_route_prefixes(m);
    // On start the routes an earlier run left (also one killed between its ruleset and its
    // routes) are what there is: only the difference changes, so a VIP that stays never loses
    // its route.
    std::vector<Cidr> found;
    if (first && !list_local_routes(found, err)) return false;
    const std::vector<Cidr>& had = first ? found : st.routes;
    if (!update_local_routes(minus(routes, had), minus(had, routes), err)) return false;
    st.routes = std::move(routes);
    // A host without IPv6 (ipv6.disable=1) refuses IPv6 route and neighbour requests: a model
    // without an IPv6 half needs none, so their failure only counts when it has one.
    std::string err6;
    if (update_routes6(m, first, err6) || !serves_ipv6(m)) return true;
    err = err6;
    return false;
}

bool KernelPath::update_routes6(const Model& m, bool first, std::string& err) {
    State& st = *state_;
    std::vector<Cidr6> routes6 = local_route_prefixes6(m), found6;
    if (first && !list_local_routes(found6, err)) return false;
    const std::vector<Cidr6>& had6 = first ? found6 : st.routes6;
    if (!update_local_routes(minus(routes6, had6), minus(had6, routes6), err)) return false;
    // The single addresses (externalIPs, LB IPs) inside an interface's prefix: proxied.
    std::vector<Ip6> vips;
    for (const Cidr6& c : routes6)
        if (c.len == 128) vips.push_back(c.addr);
    st.routes6 = std::move(routes6);
    std::vector<NdpProxy> ndp, found_ndp;
    if (!ndp_proxies_for(vips, ndp, err)) return false;
    if (first && !list_ndp_proxies(found_ndp, err)) return false;
    const std::vector<NdpProxy>& had_ndp = first ? found_ndp : st.ndp;
    if (!update_ndp_proxies(minus(ndp, had_ndp), minus(had_ndp, ndp), err)) return false;
    st.ndp = std::move(ndp);
    return true;
}

bool KernelPath::cleanup(std::string& err) {
    TcpLoose loose;  // a killed daemon's proxy may have left the sysctl at 0, with a note
    if (!loose.recover(err)) {
        err = "cleanup: " + err;
        return false;
    }
    if (!drop_table(Family::ip, err)) {
        err = "cleanup: " + err;
        return false;
    }
    // The IPv6 pieces as far as the host has IPv6 (a host booted without it refuses to look).
    std::string ignored;
    std::vector<NdpProxy> proxies;
    drop_table(Family::ip6, ignored);
    if (list_ndp_proxies(proxies, ignored)) update_ndp_proxies({}, proxies, ignored);
    return remove_all_local_routes(err);
}

}  // namespace nfgate::nft

#include "nft/nft_render.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "model/endpoint_choice.hpp"
#include "nft/flat_set.hpp"
#include "nft/nft_flood_render.hpp"

namespace nfgate::nft {
namespace {

// Chain and set names: the kernel takes at most 255 characters (NFT_CHAIN_MAXNAMELEN - 1).
constexpr size_t kMaxName = 255;

// FNV-1a, 64 bits: stable across builds and machines, unlike std::hash.
uint64_t fnv1a(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string short_hash(const std::string& identity) {
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuv";
    uint64_t h = fnv1a(identity);
    std::string out;
    for (int i = 0; i < 8; ++i, h >>= 5) out += digits[h & 31];
    return out;
}

std::string port_label(const ServicePort& p) {
    if (!p.name.empty()) return p.name;
    return std::to_string(p.port) + "-" + proto_name(p.proto);
}

std::string port_identity(const Service& s, const ServicePort& p) {
    return s.ns + "/" + s.name + "/" + p.name + "/" + proto_name(p.proto) + "/" + std::to_string(p.port);
}

std::string object_name(const char* prefix, const std::string& identity, const std::string& readable) {
    std::string n = std::string(prefix) + "-" + short_hash(identity) + "-" + readable;
    if (n.size() > kMaxName) n.resize(kMaxName);
    return n;
}

Verdict go(const std::string& chain) { return Verdict{Verdict::Kind::go, chain}; }

// One family's half of the model, as the renderer reads it: the same code renders the `ip`
// table from the IPv4 fields and the `ip6` table from the IPv6 ones.
struct V4 {
    using A = uint32_t;
    using C = Cidr;
    static constexpr Family family = Family::ip;
    static const std::vector<A>& cluster_ips(const Service& s) { return s.cluster_ips; }
    static const std::vector<A>& external_ips(const Service& s) { return s.external_ips; }
    static const std::vector<A>& lb_ips(const Service& s) { return s.lb_ips; }
    static const std::vector<C>& lb_source_ranges(const Service& s) { return s.lb_source_ranges; }
    static const std::vector<A>& node_addresses(const Model& m) { return m.node_addresses; }
    static const std::vector<C>& cluster_cidrs(const Model& m) { return m.cluster_cidrs; }
    static const std::vector<C>& service_cidrs(const Model& m) { return m.service_cidrs; }
    static const std::vector<C>& non_masquerade_cidrs(const Model& m) { return m.masquerade.non_masquerade_cidrs; }
    static std::vector<Endpoint> chosen(const ServicePort& p) { return chosen_endpoints(p); }
    static size_t chosen_count(const ServicePort& p) { return nfgate::chosen_count(p); }
    static std::string text(A a) { return ip_to_string(a); }
};

struct V6 {
    using A = Ip6;
    using C = Cidr6;
    static constexpr Family family = Family::ip6;
    static const std::vector<A>& cluster_ips(const Service& s) { return s.cluster_ips6; }
    static const std::vector<A>& external_ips(const Service& s) { return s.external_ips6; }
    static const std::vector<A>& lb_ips(const Service& s) { return s.lb_ips6; }
    static const std::vector<C>& lb_source_ranges(const Service& s) { return s.lb_source_ranges6; }
    static const std::vector<A>& node_addresses(const Model& m) { return m.node_addresses6; }
    static const std::vector<C>& cluster_cidrs(const Model& m) { return m.cluster_cidrs6; }
    static const std::vector<C>& service_cidrs(const Model& m) { return m.service_cidrs6; }
    static const std::vector<C>& non_masquerade_cidrs(const Model& m) { return m.masquerade.non_masquerade_cidrs6; }
    static std::vector<Endpoint6> chosen(const ServicePort& p) { return chosen_endpoints6(p); }
    static size_t chosen_count(const ServicePort& p) { return chosen_count6(p); }
    static std::string text(const A& a) { return ip6_to_string(a); }
};

}  // namespace

std::string endpoint_dnat_chain_name(uint32_t endpoints, bool masquerade) {
    return "endpoints-" + std::to_string(endpoints) + (masquerade ? "-masq" : "");
}

std::string service_chain_name(const Service& s, const ServicePort& p) {
    return object_name("svc", port_identity(s, p), s.ns + "-" + s.name + "-" + port_label(p));
}

std::string firewall_chain_name(const Service& s, const ServicePort& p) {
    return object_name("fw", port_identity(s, p), s.ns + "-" + s.name + "-" + port_label(p));
}

std::string affinity_map_name(const Service& s, const ServicePort& p, uint32_t timeout_s) {
    return object_name("aff", port_identity(s, p) + "/" + std::to_string(timeout_s), s.ns + "-" + s.name + "-" + port_label(p));
}

namespace {

// Whether a Service of `policy` has clients from outside the cluster masqueraded (so replies
// come back through the gateway): masquerade.all, or externalTrafficPolicy Cluster with no
// cluster CIDR covering everything. Local keeps the client address for the backend.
template <typename F>
bool marks_masquerade(const Model& m, TrafficPolicy policy) {
    if (m.masquerade.all) return true;
    if (policy == TrafficPolicy::local) return false;
    const auto& cidrs = F::cluster_cidrs(m);
    return std::none_of(cidrs.begin(), cidrs.end(), [](const auto& c) { return c.len == 0; });
}

// The rule that marks those clients for masquerade, when marks_masquerade says there is one.
template <typename F>
std::optional<Rule> masquerade_mark_rule(const Model& m, const Service& s) {
    if (!marks_masquerade<F>(m, s.external_traffic_policy)) return std::nullopt;
    Rule r;
    if (!m.masquerade.all)
        for (const auto& c : F::cluster_cidrs(m)) r.exprs.push_back(MatchCidr{Field::saddr, c, true});
    r.exprs.push_back(SetMarkBit{kMasqueradeMark, true});
    return r;
}

// Whether an endpoint's address goes in the hairpin set (a pod reaching itself through its
// Service is masqueraded): in the cluster, unless masquerade.all masquerades every client anyway.
template <typename A>
bool hairpin_endpoint(const Model& m, const A& ip) {
    return !m.masquerade.all && m.in_cluster(ip);
}

}  // namespace

// A presized hash takes a full sync's elements about a quarter faster than one that grows while
// they arrive. Twice the need, in powers of two, so the size (and with it the map, which is
// replaced when its size changes) stays put while the cluster grows or shrinks within a factor 2.
namespace {

template <typename F>
uint64_t map_need(const Model& m, const Service& s) {
    if (s.affinity_client_ip) return 0;
    uint64_t need = 0;
    uint64_t addresses = F::cluster_ips(s).size() + F::external_ips(s).size() + F::lb_ips(s).size();
    for (const auto& p : s.ports)
        need += F::chosen_count(p) * (addresses + (p.node_port != 0 ? F::node_addresses(m).size() : 0));
    return need;
}

template <typename F>
uint64_t total_map_need(const Model& m) {
    uint64_t need = 0;
    for (const auto& s : m.services) need += map_need<F>(m, s);
    return need;
}

template <typename F>
uint32_t map_capacity(const Model& m) {
    return endpoint_map_capacity_for(total_map_need<F>(m));
}

template <typename F>
std::vector<typename F::A> hairpin_of(const Model& m, const Service& s) {
    std::vector<typename F::A> out;
    for (const auto& p : s.ports)
        for (const auto& e : F::chosen(p))
            if (hairpin_endpoint(m, e.ip)) out.push_back(e.ip);
    return out;
}

}  // namespace

uint64_t endpoint_map_need(const Model& m, const Service& s, Family f) {
    return f == Family::ip6 ? map_need<V6>(m, s) : map_need<V4>(m, s);
}

uint32_t endpoint_map_capacity_for(uint64_t need) {
    uint64_t cap = kMinEndpointMapSize;
    while (cap < 2 * need) cap *= 2;
    return static_cast<uint32_t>(std::min<uint64_t>(cap, uint64_t{1} << 31));
}

uint32_t endpoint_map_capacity(const Model& m, Family f) {
    return f == Family::ip6 ? map_capacity<V6>(m) : map_capacity<V4>(m);
}

std::vector<Addr> hairpin_addresses(const Model& m, const Service& s, Family f) {
    std::vector<Addr> out;
    if (f == Family::ip6)
        for (const Ip6& a : hairpin_of<V6>(m, s)) out.push_back(a);
    else
        for (uint32_t a : hairpin_of<V4>(m, s)) out.push_back(a);
    return out;
}

namespace {

// The policy a Service's ClusterIPs follow: Cluster, whatever externalTrafficPolicy says.
template <typename F>
bool cluster_ip_masquerades(const Model& m) {
    return marks_masquerade<F>(m, TrafficPolicy::cluster);
}

template <typename F>
std::vector<PickChain> picks_of(const Model& m, const Service& s, const ServicePort& p) {
    size_t chosen = F::chosen_count(p);
    if (s.affinity_client_ip || chosen == 0) return {};
    const uint32_t n = static_cast<uint32_t>(chosen);
    const bool external = marks_masquerade<F>(m, s.external_traffic_policy), cluster = cluster_ip_masquerades<F>(m);
    std::vector<PickChain> out{{n, external}};
    if (!F::cluster_ips(s).empty() && cluster != external) out.push_back({n, cluster});
    return out;
}

}  // namespace

std::vector<PickChain> pick_chains_of(const Model& m, const Service& s, const ServicePort& p, Family f) {
    return f == Family::ip6 ? picks_of<V6>(m, s, p) : picks_of<V4>(m, s, p);
}

namespace {

// Builds the ruleset of family F in one pass over the services; the maps collect elements as
// it goes.
template <typename F>
class Renderer {
    using A = typename F::A;
    // A key of the frontend maps: address (0 for a nodePort), protocol, port.
    struct Frontend {
        A addr{};
        Proto proto{};
        uint16_t port = 0;
        bool operator==(const Frontend&) const = default;
    };
    struct FrontendHash {
        size_t operator()(const Frontend& k) const {
            return AddrHash{}(k.addr) ^ AddrHash{}((uint32_t{k.port} << 8 | static_cast<uint8_t>(k.proto)) + 1);
        }
    };

public:
    Renderer(const Model& m, bool syn_proxy) : m_(m), syn_proxy_(syn_proxy) {}

    // Only `services`, no base chains, and of the shared objects only `shared`.
    void restrict_to(const std::vector<const Service*>& services, const SharedParts& shared,
                     uint32_t endpoint_map_size) {
        only_ = &services;
        picks_ = &shared.picks;
        hairpin_ips_ = &shared.hairpin;
        endpoint_map_size_ = endpoint_map_size;
    }

    Ruleset run() {
        init_sets();
        if (only_) {
            for (const Service* s : *only_) render_service(*s);
            for (const Addr& ip : *hairpin_ips_) hairpin_.elems.push_back(SetElem{ip, Proto::tcp, 0, 0, {}, {ip, 0, true}});
        } else {
            // render_port adds hairpin_of() of every service, each address the first time.
            for (const auto& s : m_.services) render_service(s);
        }
        Ruleset rs;
        rs.family = F::family;
        rs.sets = {std::move(cluster_ips_), std::move(node_addrs_),     std::move(svc_ips_),
                   std::move(svc_nodeports_), std::move(svc_endpoints_), std::move(noep_ips_),
                   std::move(noep_nodeports_), std::move(hairpin_), std::move(traffic_), std::move(synproxy_)};
        for (auto& a : affinity_sets_) rs.sets.push_back(std::move(a));
        if (auto limited = new_flow_sources_set(m_); limited && !only_) {
            rs.sets.push_back(std::move(*limited));
            rs.counters.push_back(kRateLimitedCounter);
        }
        if (!only_) rs.chains = base_chains();
        for (auto [n, masquerade] : pick_chains_)
            if (!picks_ || picks_->count({n, masquerade})) rs.chains.push_back(endpoint_dnat_chain(n, masquerade));
        for (auto& c : service_chains_) rs.chains.push_back(std::move(c));
        return rs;
    }

private:
    void init_sets() {
        cluster_ips_ = Set{kClusterIpsSet, KeyKind::addr, false, 0, {}};
        node_addrs_ = Set{kNodeAddressesSet, KeyKind::addr, false, 0, {}};
        svc_ips_ = Set{kServiceIpsMap, KeyKind::addr_proto_port, true, 0, {}};
        svc_ips_.counter = true;
        svc_nodeports_ = Set{kServiceNodePortsMap, KeyKind::proto_port, true, 0, {}};
        svc_nodeports_.counter = true;
        traffic_ = Set{kServiceTrafficSet, KeyKind::addr_proto_port, false, 0, {}};
        traffic_.counter = true;
        svc_endpoints_ = Set{kServiceEndpointsMap, KeyKind::addr_proto_port_index, false, 0, {}};
        if (only_) {
            svc_endpoints_.size = endpoint_map_size_;
        } else {  // a whole rendering: the map's elements are known in number, no regrowth
            const uint64_t need = total_map_need<F>(m_);
            svc_endpoints_.size = endpoint_map_capacity_for(need);
            svc_endpoints_.elems.reserve(need);
        }
        noep_ips_ = Set{kNoEndpointServicesMap, KeyKind::addr_proto_port, true, 0, {}};
        noep_nodeports_ = Set{kNoEndpointNodePortsMap, KeyKind::proto_port, true, 0, {}};
        hairpin_ = Set{kHairpinSet, KeyKind::addr_pair, false, 0, {}};
        synproxy_ = synproxy_set();
        std::set<A> seen;
        for (const A& a : F::node_addresses(m_))
            if (seen.insert(a).second) node_addrs_.elems.push_back(SetElem{a, Proto::tcp, 0, 0, {}, {}});
    }

    // A key taken twice (two Services claiming one externalIP:port) would make the kernel refuse the
    // whole batch; the first Service in model order keeps it.
    bool add_elem(Set& set, FlatSet<Frontend, FrontendHash>& seen, SetElem e) {
        if (!seen.insert(Frontend{addr_of(e.addr), e.proto, e.port})) return false;
        set.elems.push_back(std::move(e));
        return true;
    }

    static A addr_of(const Addr& a) {
        if constexpr (F::family == Family::ip) return a.v4;
        else return a.v6;
    }

    // While the SYN proxy is on, every TCP frontend with endpoints (the others reset at once).
    void add_synproxy(const A& addr, Proto proto, uint16_t port) {
        if (syn_proxy_ && proto == Proto::tcp && seen_synproxy_keys_.insert(Frontend{addr, proto, port}))
            synproxy_.elems.push_back(SetElem{addr, proto, port, 0, {}, {}});
    }

    // The endpoints one service address answers with, by index (see DnatEndpointMap).
    template <typename E>
    void add_endpoints(const A& addr, Proto proto, uint16_t port, const std::vector<E>& chosen) {
        for (uint32_t i = 0; i < chosen.size(); ++i)
            svc_endpoints_.elems.push_back(SetElem{addr, proto, port, i, {}, {chosen[i].ip, chosen[i].port, true}});
    }

    void render_service(const Service& s) {
        for (const A& ip : F::cluster_ips(s))
            if (seen_cluster_ips_.insert(ip)) cluster_ips_.elems.push_back(SetElem{ip, Proto::tcp, 0, 0, {}, {}});
        for (const auto& p : s.ports) render_port(s, p);
    }

    // Where a service port's traffic goes: without affinity, straight to the shared chain for its
    // endpoint count and masquerade policy (no per-service chain at all); with affinity, to its
    // own chain. LoadBalancer IPs with source ranges pass a per-service firewall chain first.
    void render_port(const Service& s, const ServicePort& p) {
        const auto chosen = F::chosen(p);
        if (!only_)
            for (const auto& e : chosen)
                if (hairpin_endpoint(m_, e.ip) && hairpin_seen_.insert(e.ip))
                    hairpin_.elems.push_back(SetElem{e.ip, Proto::tcp, 0, 0, {}, {e.ip, 0, true}});
        bool has_endpoints = !chosen.empty();
        bool by_map = has_endpoints && !s.affinity_client_ip;
        std::string target = kRejectChain, cluster_target;
        if (by_map) {
            const std::vector<PickChain> keys = picks_of<F>(m_, s, p);
            for (const PickChain& k : keys) pick_chains_.insert(k);
            target = endpoint_dnat_chain_name(keys.front().first, keys.front().second);
            cluster_target = endpoint_dnat_chain_name(keys.back().first, keys.back().second);
        } else if (has_endpoints) {
            target = service_chain_name(s, p);
            service_chains_.push_back(affinity_chain(s, p, target, chosen));
        }
        std::string lb_target = target;
        if (has_endpoints && !F::lb_source_ranges(s).empty() && !F::lb_ips(s).empty()) {
            lb_target = firewall_chain_name(s, p);
            service_chains_.push_back(firewall_chain(s, lb_target, target));
        }
        Set& ips = has_endpoints ? svc_ips_ : noep_ips_;
        Set& nodeports = has_endpoints ? svc_nodeports_ : noep_nodeports_;
        auto address = [&](const A& ip, const std::string& to) {
            if (!add_elem(ips, seen_ip_keys_, SetElem{ip, p.proto, p.port, 0, to, {}})) return;
            if (by_map) add_endpoints(ip, p.proto, p.port, chosen);
            if (has_endpoints) add_elem(traffic_, seen_traffic_keys_, SetElem{ip, p.proto, p.port, 0, {}, {}});
            if (has_endpoints) add_synproxy(ip, p.proto, p.port);
        };
        for (const A& ip : F::cluster_ips(s)) address(ip, cluster_target.empty() ? target : cluster_target);
        for (const A& ip : F::external_ips(s)) address(ip, target);
        for (const A& ip : F::lb_ips(s)) address(ip, lb_target);
        if (p.node_port != 0 && add_elem(nodeports, seen_nodeport_keys_, SetElem{0, p.proto, p.node_port, 0, target, {}}))
            for (const auto& na : node_addrs_.elems) {
                if (by_map) add_endpoints(addr_of(na.addr), p.proto, p.node_port, chosen);
                if (has_endpoints) add_elem(traffic_, seen_traffic_keys_, SetElem{na.addr, p.proto, p.node_port, 0, {}, {}});
                if (has_endpoints) add_synproxy(addr_of(na.addr), p.proto, p.node_port);
            }
    }

    // loadBalancerSourceRanges: listed sources go on to the service, everyone else is dropped.
    Chain firewall_chain(const Service& s, const std::string& name, const std::string& svc_chain) {
        Chain c{name, std::nullopt, {}};
        for (const auto& r : F::lb_source_ranges(s)) {
            Rule rule;
            if (r.len > 0) rule.exprs.push_back(MatchCidr{Field::saddr, r, false});
            rule.exprs.push_back(go(svc_chain));
            c.rules.push_back(std::move(rule));
        }
        c.rules.push_back(Rule{{Verdict{Verdict::Kind::drop, {}}}});
        return c;
    }

    // The shared chain: the mark (if its services masquerade), then one map lookup picks one of
    // n endpoints. One rule per protocol because nft needs the protocol matched before a port is
    // translated. Endpoints live in the map, not in rules: the kernel's cost grows with rules far
    // faster than with map elements, and it checks every element of a map again for each chain
    // that looks it up, so only these few chains do.
    Chain endpoint_dnat_chain(uint32_t n, bool masquerade) const {
        Chain c{endpoint_dnat_chain_name(n, masquerade), std::nullopt, {}};
        if (masquerade) {
            Service any;
            c.rules.push_back(*masquerade_mark_rule<F>(m_, any));
        }
        for (Proto p : {Proto::tcp, Proto::udp, Proto::sctp})
            c.rules.push_back(Rule{{MatchL4proto{p}, DnatEndpointMap{kServiceEndpointsMap, n}}});
        return c;
    }

    // ClientIP affinity: a client in the service port's map goes back to its endpoint; a new
    // client gets an even choice, remembered in the map.
    template <typename E>
    Chain affinity_chain(const Service& s, const ServicePort& p, const std::string& name, const std::vector<E>& chosen) {
        Chain c{name, std::nullopt, {}};
        if (auto mark = masquerade_mark_rule<F>(m_, s)) {
            c.rules.push_back(std::move(*mark));
        } else if (cluster_ip_masquerades<F>(m_)) {
            // externalTrafficPolicy Local: only the ClusterIPs' off-cluster clients are marked.
            Service as_cluster;
            Rule r = *masquerade_mark_rule<F>(m_, as_cluster);
            r.exprs.insert(r.exprs.begin(), MatchSet{Field::daddr, kClusterIpsSet});
            c.rules.push_back(std::move(r));
        }
        std::string affinity = affinity_map_name(s, p, s.affinity_timeout_s);
        affinity_sets_.push_back(Set{affinity, KeyKind::addr, false, s.affinity_timeout_s, {}});
        c.rules.push_back(Rule{{MatchL4proto{p.proto}, DnatAffinity{affinity}}});
        even_choice_rules(p.proto, chosen, affinity, c);
        return c;
    }

    // An even choice with plain expressions: rule i matches with probability 1/(N-i) of what is
    // left (numgen draws again in every rule), the last one takes the rest. With affinity, the
    // choice is remembered for the client.
    template <typename E>
    static void even_choice_rules(Proto proto, const std::vector<E>& chosen, const std::string& affinity, Chain& c) {
        for (size_t i = 0; i < chosen.size(); ++i) {
            Rule r;
            uint32_t left = static_cast<uint32_t>(chosen.size() - i);
            if (left > 1) r.exprs.push_back(MatchNumgen{left});
            r.exprs.push_back(MatchL4proto{proto});
            if (!affinity.empty()) r.exprs.push_back(UpdateAffinity{affinity, chosen[i].ip, chosen[i].port});
            r.exprs.push_back(Dnat{chosen[i].ip, chosen[i].port});
            c.rules.push_back(std::move(r));
        }
    }

    std::vector<Chain> base_chains() const;
    Chain postrouting_chain() const;
    Chain pod_egress_chain() const;
    Chain filter_chain(const char* name, Hook hook) const;

    const Model& m_;
    const bool syn_proxy_;
    Set cluster_ips_, node_addrs_, svc_ips_, svc_nodeports_, svc_endpoints_, noep_ips_, noep_nodeports_, hairpin_, traffic_,
        synproxy_;
    std::vector<Set> affinity_sets_;
    std::vector<Chain> service_chains_;
    FlatSet<A, AddrHash> seen_cluster_ips_;
    FlatSet<A, AddrHash> hairpin_seen_;  // whole renderings: the hairpin set's addresses
    std::set<PickChain> pick_chains_;  // in use by the services rendered
    const std::vector<const Service*>* only_ = nullptr;
    const std::set<PickChain>* picks_ = nullptr;
    const std::set<Addr>* hairpin_ips_ = nullptr;
    uint32_t endpoint_map_size_ = 0;
    FlatSet<Frontend, FrontendHash> seen_ip_keys_, seen_nodeport_keys_, seen_traffic_keys_, seen_synproxy_keys_;
};

// Priorities as nft names them: dstnat -100, filter 0, srcnat 100.
constexpr int32_t kDstnat = -100;
constexpr int32_t kFilter = 0;
constexpr int32_t kSrcnat = 100;

template <typename F>
std::vector<Chain> Renderer<F>::base_chains() const {
    std::vector<Chain> out;
    Rule jump_services{{Verdict{Verdict::Kind::jump, kServicesChain}}};
    out.push_back(Chain{"prerouting", BaseHook{ChainType::nat, Hook::prerouting, kDstnat}, {jump_services}});
    // The output hook also translates the connections the SYN proxy opens from the local stack.
    out.push_back(Chain{"output", BaseHook{ChainType::nat, Hook::output, kDstnat}, {jump_services}});
    out.push_back(raw_prerouting_chain());
    out.push_back(postrouting_chain());
    if (m_.masquerade.egress) out.push_back(pod_egress_chain());
    out.push_back(filter_chain("filter-input", Hook::input));
    out.push_back(filter_chain("filter-forward", Hook::forward));
    out.push_back(filter_chain("filter-output", Hook::output));
    out.push_back(Chain{kServicesChain, std::nullopt,
                        {Rule{{VmapAddrProtoPort{kServiceIpsMap}}},
                         Rule{{MatchSet{Field::daddr, kNodeAddressesSet}, VmapProtoPort{kServiceNodePortsMap}}}}});
    out.push_back(Chain{kRejectChain, std::nullopt,
                        {Rule{{MatchL4proto{Proto::tcp}, Reject{true}}}, Rule{{Reject{false}}}}});
    return out;
}

template <typename F>
Chain Renderer<F>::postrouting_chain() const {
    Chain c{"postrouting", BaseHook{ChainType::nat, Hook::postrouting, kSrcnat}, {}};
    // The bit is cleared so a packet that comes around again is not masqueraded twice.
    c.rules.push_back(Rule{{MatchMarkBit{kMasqueradeMark}, SetMarkBit{kMasqueradeMark, false}, Masquerade{}}});
    c.rules.push_back(Rule{{MatchCtDnat{}, MatchSet{Field::saddr_daddr, kHairpinSet}, Masquerade{}}});
    if (m_.masquerade.egress) {
        for (const auto& cc : F::cluster_cidrs(m_)) {
            Rule r;
            if (cc.len > 0) r.exprs.push_back(MatchCidr{Field::saddr, cc, false});
            r.exprs.push_back(Verdict{Verdict::Kind::jump, kPodEgressChain});
            c.rules.push_back(std::move(r));
        }
    }
    return c;
}

// Pod egress (the ip-masq-agent convention): Service traffic keeps its source (the client is
// inside the cluster), so do traffic to nonMasqueradeCIDRs and pod-to-pod; the rest leaves as us.
template <typename F>
Chain Renderer<F>::pod_egress_chain() const {
    Chain c{kPodEgressChain, std::nullopt, {}};
    Verdict ret{Verdict::Kind::ret, {}};
    c.rules.push_back(Rule{{MatchCtDnat{}, ret}});
    std::vector<typename F::C> keep = F::non_masquerade_cidrs(m_);
    for (const auto& cc : F::cluster_cidrs(m_))
        if (std::find(keep.begin(), keep.end(), cc) == keep.end()) keep.push_back(cc);
    for (const auto& k : keep) {
        if (k.len == 0) return c;
        c.rules.push_back(Rule{{MatchCidr{Field::daddr, k, false}, ret}});
    }
    c.rules.push_back(Rule{{Masquerade{}}});
    return c;
}

// Traffic still addressed to a VIP after dstnat found no endpoint: reject it (TCP reset / ICMP
// port unreachable) instead of letting it time out; unallocated service addresses are dropped.
template <typename F>
Chain Renderer<F>::filter_chain(const char* name, Hook hook) const {
    Chain c{name, BaseHook{ChainType::filter, hook, kFilter}, {}};
    // Only new connections: replies are de-NATed before these hooks and may carry a VIP as
    // their destination (a connection the gateway itself opened from a local VIP address).
    // Counted before anything returns: every packet of a connection, both directions. nft needs
    // the protocol matched first to know what type `ct original proto-dst` has.
    for (Proto p : {Proto::tcp, Proto::udp, Proto::sctp})
        c.rules.push_back(Rule{{MatchL4proto{p}, MatchCtFrontend{kServiceTrafficSet}}});
    if (hook != Hook::output)  // the kernel allows synproxy in input and forward only
        for (Rule& r : synproxy_rules()) c.rules.push_back(std::move(r));
    c.rules.push_back(Rule{{MatchCtNotNew{}, Verdict{Verdict::Kind::ret, {}}}});
    if (auto limit = new_flow_limit_rule(m_)) c.rules.push_back(std::move(*limit));
    c.rules.push_back(Rule{{VmapAddrProtoPort{kNoEndpointServicesMap}}});
    c.rules.push_back(Rule{{MatchSet{Field::daddr, kNodeAddressesSet}, VmapProtoPort{kNoEndpointNodePortsMap}}});
    c.rules.push_back(Rule{{MatchSet{Field::daddr, kClusterIpsSet}, go(kRejectChain)}});
    for (const auto& sc : F::service_cidrs(m_))
        if (sc.len > 0) c.rules.push_back(Rule{{MatchCidr{Field::daddr, sc, false}, Verdict{Verdict::Kind::drop, {}}}});
    return c;
}

}  // namespace

Ruleset render(const Model& m, bool syn_proxy, Family family) {
    if (family == Family::ip6) return Renderer<V6>(m, syn_proxy).run();
    return Renderer<V4>(m, syn_proxy).run();
}
Ruleset render(const Model& m) { return render(m, m.syn_proxy == SynProxyMode::on); }

namespace {

template <typename F>
Ruleset render_part(const Model& m, const std::vector<const Service*>& services, const SharedParts& shared,
                    uint32_t endpoint_map_size, bool syn_proxy) {
    Renderer<F> r(m, syn_proxy);
    r.restrict_to(services, shared, endpoint_map_size);
    return r.run();
}

}  // namespace

Ruleset render_services(const Model& m, const std::vector<const Service*>& services, const SharedParts& shared,
                        uint32_t endpoint_map_size, bool syn_proxy, Family f) {
    if (f == Family::ip6) return render_part<V6>(m, services, shared, endpoint_map_size, syn_proxy);
    return render_part<V4>(m, services, shared, endpoint_map_size, syn_proxy);
}

}  // namespace nfgate::nft

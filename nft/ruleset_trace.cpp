#include "nft/ruleset_trace.hpp"

#include <algorithm>

#include "model/frontends.hpp"
#include "nft/kernel_jhash.hpp"
#include "nft/nft_flood_render.hpp"
#include "nft/nft_text.hpp"

namespace nfgate::nft {

namespace {

constexpr int kMaxDepth = 16;  // jump/goto nesting; the rendered ruleset uses three levels

enum class Outcome { next, accept, drop, reject, ret };

struct State {
    TracePacket p;
    Addr src, dst;  // p's addresses in the ruleset's family
    uint32_t mark = 0;
    bool dnat = false;
    bool picked = false;  // the endpoint map chose the destination, computed as the kernel does
};

std::string addr_text(const State& st, const Addr& a) { return st.p.ipv6 ? ip6_to_string(a.v6) : ip_to_string(a.v4); }
std::string endpoint_text(const State& st, const Addr& a, uint16_t port) {
    return st.p.ipv6 ? endpoint_str(a.v6, port) : endpoint_str(a.v4, port);
}

class Walker {
public:
    Walker(const Ruleset& rs, TraceResult& out) : rs_(rs), out_(out) {}

    // Runs every base chain of (type, hook) in priority order; false when one ends the packet.
    bool hook(ChainType type, Hook h, State& st) {
        std::vector<const Chain*> base;
        for (const auto& c : rs_.chains)
            if (c.base && c.base->type == type && c.base->hook == h) base.push_back(&c);
        std::sort(base.begin(), base.end(),
                  [](const Chain* a, const Chain* b) { return a->base->priority < b->base->priority; });
        for (const Chain* c : base) {
            const Outcome o = run(*c, st, 0);
            if (o == Outcome::drop || o == Outcome::reject) return false;
        }
        return true;
    }

private:
    const Chain* chain(const std::string& name) const {
        for (const auto& c : rs_.chains)
            if (c.name == name) return &c;
        return nullptr;
    }
    const Set* set(const std::string& name) const {
        for (const auto& s : rs_.sets)
            if (s.name == name) return &s;
        return nullptr;
    }

    void step(const Chain& c, const std::string& detail) { out_.steps.push_back({"chain " + c.name, detail}); }

    static bool in_set(const Set& s, Field f, const State& st) {
        for (const auto& e : s.elems) {
            if (f == Field::saddr_daddr ? (e.addr == st.src && e.to.ip == st.dst)
                                        : e.addr == (f == Field::saddr ? st.src : st.dst))
                return true;
        }
        return false;
    }

    const SetElem* vmap_find(const std::string& map, bool with_addr, const State& st) const {
        const Set* s = set(map);
        if (s == nullptr) return nullptr;
        for (const auto& e : s->elems)
            if ((!with_addr || e.addr == st.dst) && static_cast<uint8_t>(e.proto) == st.p.proto && e.port == st.p.dport)
                return &e;
        return nullptr;
    }

    Outcome follow(const std::string& target, bool go, const Chain& from, State& st, int depth) {
        const Chain* c = chain(target);
        if (c == nullptr || depth >= kMaxDepth) {
            step(from, "no chain " + target);
            return Outcome::next;
        }
        const Outcome o = run(*c, st, depth + 1);
        if (o == Outcome::ret) return go ? Outcome::ret : Outcome::next;
        if (o == Outcome::next && go) return Outcome::ret;  // goto: the calling chain ends too
        return o;
    }

    // The endpoint `to` names, listed among the candidates of the packet's family.
    void candidate(const State& st, const Addr& ip, uint16_t port) {
        if (st.p.ipv6) out_.candidates6.push_back(Endpoint6{ip.v6, port, true});
        else out_.candidates.push_back(Endpoint{ip.v4, port, true});
    }
    size_t candidate_count(const State& st) const {
        return st.p.ipv6 ? out_.candidates6.size() : out_.candidates.size();
    }

    static void dnat_to(State& st, const Addr& ip, uint16_t port) {
        st.dst = ip;
        st.p.dst = ip.v4;
        st.p.dst6 = ip.v6;
        st.p.dport = port;
        st.dnat = true;
    }

    Outcome run(const Chain& c, State& st, int depth) {
        bool random_alternatives = false;  // a numgen rule matched: the following rules are the rest
        for (const Rule& r : c.rules) {
            bool matches = true, numgen = false, stepped = false;
            Outcome result = Outcome::next;
            std::string note;
            for (const Expr& x : r.exprs) {
                if (!matches) break;
                if (const auto* m = std::get_if<MatchCidr>(&x)) {
                    const Addr& a = m->field == Field::saddr ? st.src : st.dst;
                    const bool in = st.p.ipv6 ? Cidr6{m->cidr.addr.v6, m->cidr.len}.contains(a.v6)
                                              : Cidr{m->cidr.addr.v4, m->cidr.len}.contains(a.v4);
                    matches = in != m->negate;
                } else if (const auto* m = std::get_if<MatchSet>(&x)) {
                    const Set* s = set(m->set);
                    matches = s != nullptr && in_set(*s, m->field, st);
                } else if (const auto* m = std::get_if<MatchL4proto>(&x)) {
                    matches = static_cast<uint8_t>(m->proto) == st.p.proto;
                } else if (const auto* m = std::get_if<MatchMarkBit>(&x)) {
                    matches = (st.mark & m->bit) == m->bit;
                } else if (std::holds_alternative<MatchCtDnat>(x)) {
                    matches = st.dnat;
                } else if (std::holds_alternative<MatchCtFrontend>(x)) {
                    matches = false;  // counts the packet in its frontend's element; decides nothing
                } else if (std::holds_alternative<MatchCtNotNew>(x)) {
                    matches = false;  // a trace is always a connection's first packet
                } else if (const auto* m = std::get_if<MatchCtState>(&x)) {
                    matches = (m->mask & kCtStateNew) != 0;  // a tracked connection's first packet
                } else if (std::holds_alternative<MatchTcpSyn>(x)) {
                    matches = st.p.proto == static_cast<uint8_t>(Proto::tcp);
                } else if (const auto* m = std::get_if<MatchTcpFrontend>(&x)) {
                    const Set* s = set(m->set);
                    matches = s != nullptr && st.p.proto == static_cast<uint8_t>(Proto::tcp) &&
                              std::any_of(s->elems.begin(), s->elems.end(), [&](const SetElem& e) {
                                  return e.addr == st.dst && e.port == st.p.dport;
                              });
                } else if (const auto* m = std::get_if<LimitPerSource>(&x)) {
                    step(c, "dropped here once " + addr_text(st, st.src) + " opens more than " +
                                std::to_string(m->rate) + " connections a second (burst " + std::to_string(m->burst) + ")");
                    matches = false;
                } else if (std::holds_alternative<Notrack>(x) || std::holds_alternative<SynProxy>(x) ||
                           std::holds_alternative<CounterRef>(x)) {
                    // not reached by a tracked first packet (the raw hook is not walked)
                } else if (std::holds_alternative<MatchNumgen>(x)) {
                    numgen = true;  // taken with probability 1/N: listed as one alternative
                } else if (const auto* m = std::get_if<VmapAddrProtoPort>(&x)) {
                    const SetElem* e = vmap_find(m->map, true, st);
                    if (e == nullptr) {
                        matches = false;
                    } else {
                        step(c, rule_text(r) + ": goto " + e->goto_chain);
                        return follow(e->goto_chain, true, c, st, depth);
                    }
                } else if (const auto* m = std::get_if<VmapProtoPort>(&x)) {
                    const SetElem* e = vmap_find(m->map, false, st);
                    if (e == nullptr) {
                        matches = false;
                    } else {
                        step(c, rule_text(r) + ": goto " + e->goto_chain);
                        return follow(e->goto_chain, true, c, st, depth);
                    }
                } else if (const auto* m = std::get_if<SetMarkBit>(&x)) {
                    st.mark = m->on ? (st.mark | m->bit) : (st.mark & ~m->bit);
                    note = m->on ? "marked for masquerade" : "mark cleared";
                } else if (const auto* m = std::get_if<UpdateAffinity>(&x)) {
                    note = "remembers the client in @" + m->map;
                } else if (const auto* m = std::get_if<DnatAffinity>(&x)) {
                    step(c, "a client @" + m->map + " remembers goes back to its endpoint; otherwise on");
                    matches = false;
                } else if (const auto* m = std::get_if<Dnat>(&x)) {
                    candidate(st, m->ip, m->port);
                    if (numgen || random_alternatives) {
                        random_alternatives = true;
                        if (numgen) {
                            step(c, rule_text(r) + ": one random alternative");
                            matches = false;  // the other alternatives follow
                            continue;
                        }
                    }
                    dnat_to(st, m->ip, m->port);
                    result = Outcome::accept;
                } else if (const auto* m = std::get_if<DnatEndpointMap>(&x)) {
                    const uint32_t pick = st.p.ipv6 ? endpoint_index(st.src.v6, st.p.sport, m->count)
                                                    : endpoint_index(st.src.v4, st.p.sport, m->count);
                    std::optional<BasicEndpoint<Addr>> chosen;
                    if (const Set* s = set(m->map))
                        for (const auto& e : s->elems)
                            if (e.addr == st.dst && static_cast<uint8_t>(e.proto) == st.p.proto &&
                                e.port == st.p.dport && e.index < m->count) {
                                candidate(st, e.to.ip, e.to.port);
                                if (e.index == pick) chosen = e.to;
                            }
                    if (!chosen) {
                        matches = false;
                    } else {
                        note = "dnat to " + endpoint_text(st, chosen->ip, chosen->port) + ", " +
                               std::to_string(pick) + " of " + std::to_string(candidate_count(st)) +
                               " by the hash of the client's address and port (the same on every gateway)";
                        dnat_to(st, chosen->ip, chosen->port);
                        st.picked = true;
                        result = Outcome::accept;
                    }
                } else if (std::holds_alternative<Masquerade>(x)) {
                    out_.masquerade = true;
                    result = Outcome::accept;
                } else if (const auto* m = std::get_if<Reject>(&x)) {
                    out_.verdict = "reject";
                    out_.reason = m->tcp_reset ? "TCP reset" : "ICMP port unreachable";
                    result = Outcome::reject;
                } else if (const auto* v = std::get_if<Verdict>(&x)) {
                    switch (v->kind) {
                        case Verdict::Kind::accept: result = Outcome::accept; break;
                        case Verdict::Kind::drop: result = Outcome::drop; break;
                        case Verdict::Kind::ret: result = Outcome::ret; break;
                        case Verdict::Kind::jump:
                        case Verdict::Kind::go: {
                            step(c, rule_text(r));
                            const Outcome o = follow(v->chain, v->kind == Verdict::Kind::go, c, st, depth);
                            if (o != Outcome::next) return o;
                            stepped = true;
                            break;
                        }
                    }
                }
            }
            if (!matches) continue;
            if (!stepped) step(c, rule_text(r) + (note.empty() ? "" : ": " + note));
            if (result == Outcome::drop && out_.verdict.empty()) {
                out_.verdict = "drop";
                out_.reason = "dropped in chain " + c.name;
            }
            if (result != Outcome::next) return result;
        }
        return Outcome::next;
    }

    const Ruleset& rs_;
    TraceResult& out_;
};

template <typename A>
bool listed(const std::vector<A>& v, const A& a) { return std::find(v.begin(), v.end(), a) != v.end(); }

// The gateway's own addresses: node addresses, and externalIPs and LB IPs held as local routes
// (local_routes.cpp), of the packet's family.
bool is_local(const Model& m, const State& st) {
    if (st.p.ipv6 ? listed(m.node_addresses6, st.dst.v6) : listed(m.node_addresses, st.dst.v4)) return true;
    for (const auto& s : m.services)
        if (st.p.ipv6 ? listed(s.external_ips6, st.dst.v6) || listed(s.lb_ips6, st.dst.v6)
                      : listed(s.external_ips, st.dst.v4) || listed(s.lb_ips, st.dst.v4))
            return true;
    return false;
}

}  // namespace

TraceResult trace_ruleset(const Model& m, const Ruleset& rs, const TracePacket& p) {
    TraceResult out;
    State st{p, p.ipv6 ? Addr(p.src6) : Addr(p.src), p.ipv6 ? Addr(p.dst6) : Addr(p.dst), 0, false, false};
    for (const Frontend& f : all_frontends(m))
        if (f.ipv6 == p.ipv6 && (p.ipv6 ? f.ip6 == p.dst6 : f.ip == p.dst) && f.port == p.dport &&
            static_cast<uint8_t>(f.proto) == p.proto) {
            const Service& s = m.services[f.service];
            out.service = s.key();
            out.steps.push_back({"frontend", std::string(frontend_kind_name(f.kind)) + " of Service " + s.key() +
                                                 " port " + std::to_string(s.ports[f.port_index].port) +
                                                 (s.ports[f.port_index].name.empty() ? "" : " (" + s.ports[f.port_index].name + ")")});
            break;
        }
    // The raw hook is not walked: while the SYN proxy holds this frontend, say what happens first.
    if (p.proto == static_cast<uint8_t>(Proto::tcp))
        for (const Set& s : rs.sets)
            if (s.name == kSynProxySet &&
                std::any_of(s.elems.begin(), s.elems.end(), [&](const SetElem& e) { return e.addr == st.dst && e.port == p.dport; }))
                out.steps.push_back({"chain " + std::string(kRawPreroutingChain),
                                     "SYN proxy on: the SYN is answered with a SYN cookie and tracked by nobody; a client "
                                     "ACK with a valid cookie makes the gateway open the connection itself (nat output, "
                                     "as below)"});
    Walker w(rs, out);
    if (!w.hook(ChainType::nat, Hook::prerouting, st)) return out;
    const bool local = is_local(m, st);
    out.steps.push_back({"routing", addr_text(st, st.dst) + (local ? " is the gateway's own: input"
                                                                   : " is routed onward: forward")});
    if (!w.hook(ChainType::filter, local ? Hook::input : Hook::forward, st)) return out;
    if (local) {
        out.verdict = "local";
        out.reason = "delivered to the gateway itself";
        return out;
    }
    if (!w.hook(ChainType::nat, Hook::postrouting, st)) return out;
    out.verdict = "forward";
    if (!st.dnat) {
        out.candidates.clear();
        out.candidates6.clear();
    }
    const size_t n = p.ipv6 ? out.candidates6.size() : out.candidates.size();
    if (st.dnat && (st.picked || n == 1)) {
        if (p.ipv6) out.chosen6 = Endpoint6{st.dst.v6, st.p.dport, true};
        else out.chosen = Endpoint{st.dst.v4, st.p.dport, true};
    }
    return out;
}

}  // namespace nfgate::nft

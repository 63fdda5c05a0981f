#include "nft/nft_text.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace nfgate::nft {
namespace {

// "ip" or "ip6": the payload protocol of address matches, the NAT family.
std::string fam(Family f) { return f == Family::ip6 ? "ip6" : "ip"; }

std::string field_text(Field f, Family family) {
    const std::string p = fam(family);
    switch (f) {
        case Field::saddr: return p + " saddr";
        case Field::daddr: return p + " daddr";
        case Field::saddr_daddr: return p + " saddr . " + p + " daddr";
    }
    return "";
}

std::string addr_text(const Addr& a, Family f) { return f == Family::ip6 ? ip6_to_string(a.v6) : ip_to_string(a.v4); }

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

std::string verdict_text(const Verdict& v) {
    switch (v.kind) {
        case Verdict::Kind::accept: return "accept";
        case Verdict::Kind::drop: return "drop";
        case Verdict::Kind::ret: return "return";
        case Verdict::Kind::jump: return "jump " + v.chain;
        case Verdict::Kind::go: return "goto " + v.chain;
    }
    return "";
}

// nft writes an IPv6 address with a port in brackets.
std::string endpoint_text(const Addr& ip, uint16_t port, Family f) {
    const std::string a = addr_text(ip, f);
    return (f == Family::ip6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

struct ExprText {
    Family f = Family::ip;

    std::string operator()(const MatchCidr& e) const {
        const uint8_t host = f == Family::ip6 ? 128 : 32;
        std::string v = addr_text(e.cidr.addr, f);
        if (e.cidr.len != host) v += "/" + std::to_string(e.cidr.len);
        return field_text(e.field, f) + (e.negate ? " != " : " ") + v;
    }
    std::string operator()(const MatchSet& e) const { return field_text(e.field, f) + " @" + e.set; }
    std::string operator()(const Comment& e) const { return "comment \"" + e.text + "\""; }
    std::string operator()(const MatchL4proto& e) const { return std::string("meta l4proto ") + proto_name(e.proto); }
    std::string operator()(const MatchMarkBit& e) const {
        return "meta mark & " + hex32(e.bit) + " == " + hex32(e.bit);
    }
    std::string operator()(const MatchCtDnat&) const { return "ct status dnat"; }
    std::string operator()(const MatchCtNotNew&) const { return "ct state != new"; }
    std::string operator()(const MatchCtFrontend& e) const {
        return "ct original " + fam(f) + " daddr . meta l4proto . ct original proto-dst @" + e.set;
    }
    std::string operator()(const MatchNumgen& e) const { return "numgen random mod " + std::to_string(e.mod) + " 0"; }
    std::string operator()(const VmapAddrProtoPort& e) const {
        return fam(f) + " daddr . meta l4proto . th dport vmap @" + e.map;
    }
    std::string operator()(const VmapProtoPort& e) const { return "meta l4proto . th dport vmap @" + e.map; }
    std::string operator()(const SetMarkBit& e) const {
        return e.on ? "meta mark set meta mark | " + hex32(e.bit) : "meta mark set meta mark & " + hex32(~e.bit);
    }
    std::string operator()(const UpdateAffinity& e) const {
        return "update @" + e.map + " { " + fam(f) + " saddr : " + addr_text(e.ip, f) + " . " + std::to_string(e.port) + " }";
    }
    std::string operator()(const DnatEndpointMap& e) const {
        const std::string p = fam(f);
        return "dnat " + p + " to " + p + " daddr . meta l4proto . th dport . jhash " + p + " saddr . th sport mod " +
               std::to_string(e.count) + " seed 0x0 map @" + e.map;
    }
    std::string operator()(const DnatAffinity& e) const { return "dnat " + fam(f) + " to " + fam(f) + " saddr map @" + e.map; }
    std::string operator()(const Dnat& e) const { return "dnat to " + endpoint_text(e.ip, e.port, f); }
    std::string operator()(const Masquerade&) const { return "masquerade"; }
    std::string operator()(const Reject& e) const { return e.tcp_reset ? "reject with tcp reset" : "reject"; }
    std::string operator()(const Verdict& e) const { return verdict_text(e); }
    std::string operator()(const MatchCtState& e) const {
        std::string states;
        const std::pair<uint32_t, const char*> names[] = {
            {kCtStateInvalid, "invalid"}, {kCtStateNew, "new"}, {kCtStateUntracked, "untracked"}};
        for (auto [bit, name] : names)
            if (e.mask & bit) states += (states.empty() ? "" : ",") + std::string(name);
        return "ct state " + states;
    }
    std::string operator()(const MatchTcpSyn&) const { return "tcp flags & (fin|syn|rst|ack) == syn"; }
    std::string operator()(const MatchTcpFrontend& e) const { return fam(f) + " daddr . tcp dport @" + e.set; }
    std::string operator()(const Notrack&) const { return "notrack"; }
    std::string operator()(const SynProxy& e) const {
        return "synproxy mss " + std::to_string(e.mss);
    }
    std::string operator()(const LimitPerSource& e) const {
        return "update @" + e.set + " { " + fam(f) + " saddr limit rate over " + std::to_string(e.rate) + "/second burst " +
               std::to_string(e.burst) + " packets }";
    }
    std::string operator()(const CounterRef& e) const { return "counter name \"" + e.name + "\""; }
};

std::string key_type_text(KeyKind k, Family f) {
    const std::string a = f == Family::ip6 ? "ipv6_addr" : "ipv4_addr";
    switch (k) {
        case KeyKind::addr: return a;
        case KeyKind::addr_proto_port: return a + " . inet_proto . inet_service";
        case KeyKind::proto_port: return "inet_proto . inet_service";
        case KeyKind::addr_proto_port_index: return "";
        case KeyKind::addr_pair: return a + " . " + a;
        case KeyKind::addr_port: return a + " . inet_service";
    }
    return "";
}

const char* hook_text(Hook h) {
    switch (h) {
        case Hook::prerouting: return "prerouting";
        case Hook::input: return "input";
        case Hook::forward: return "forward";
        case Hook::output: return "output";
        case Hook::postrouting: return "postrouting";
    }
    return "";
}

std::string priority_text(const BaseHook& b) {
    if (b.type == ChainType::filter && b.priority == 0) return "filter";
    // nft accepts the dstnat/srcnat names only on the hooks they are meant for.
    if (b.type == ChainType::nat && b.priority == -100 && b.hook == Hook::prerouting) return "dstnat";
    if (b.type == ChainType::nat && b.priority == 100 && b.hook == Hook::postrouting) return "srcnat";
    return std::to_string(b.priority);
}

// nft prints timeouts in the largest units that divide them: 3h, 1h30m, 90s.
std::string timeout_text(uint32_t s) {
    std::string out;
    const std::pair<uint32_t, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    for (auto [size, name] : units) {
        if (s >= size) {
            out += std::to_string(s / size) + name;
            s %= size;
        }
    }
    return out.empty() ? "0s" : out;
}

// An element as text, appended in place: a 10k-Service ruleset has a quarter of a million of
// them, and the seal's fingerprint (ruleset_seal.hpp) writes them all on every start. The key
// is put together in a small buffer and appended once.
class ElemBuf {
public:
    void str(std::string_view v) {
        std::memcpy(p_, v.data(), v.size());
        p_ += v.size();
    }
    void num(unsigned v) { p_ = std::to_chars(p_, buf_ + sizeof buf_, v).ptr; }
    void addr(const Addr& a, Family f) {
        if (f == Family::ip6) {
            str(ip6_to_string(a.v6));
            return;
        }
        for (int shift = 24; shift >= 0; shift -= 8) {
            num((a.v4 >> shift) & 0xff);
            if (shift != 0) *p_++ = '.';
        }
    }
    void append_to(std::string& out) const { out.append(buf_, static_cast<size_t>(p_ - buf_)); }

private:
    char buf_[256];  // the longest key: two IPv6 addresses, three numbers, a protocol name
    char* p_ = buf_;
};

void append_elem_text(std::string& out, const Set& set, const SetElem& e, Family f) {
    ElemBuf b;
    const auto addr_proto_port = [&] {
        b.addr(e.addr, f);
        b.str(" . ");
        b.str(proto_name(e.proto));
        b.str(" . ");
        b.num(e.port);
    };
    switch (set.key) {
        case KeyKind::addr: b.addr(e.addr, f); break;
        case KeyKind::addr_proto_port: addr_proto_port(); break;
        case KeyKind::proto_port:
            b.str(proto_name(e.proto));
            b.str(" . ");
            b.num(e.port);
            break;
        case KeyKind::addr_pair:
            b.addr(e.addr, f);
            b.str(" . ");
            b.addr(e.to.ip, f);
            break;
        case KeyKind::addr_port:
            b.addr(e.addr, f);
            b.str(" . ");
            b.num(e.port);
            break;
        case KeyKind::addr_proto_port_index:
            addr_proto_port();
            b.str(" . ");
            b.num(e.index);
            b.str(" : ");
            b.addr(e.to.ip, f);
            b.str(" . ");
            b.num(e.to.port);
            break;
    }
    if (set.counter) b.str(" counter");  // as `nft -s list` prints it: no figures
    b.append_to(out);
    if (set.verdict_map) {
        out += " : goto ";
        out += e.goto_chain;
    }
}

void append_set(std::string& out, const Set& s, Family f, bool with_elements) {
    out += "\t";
    bool endpoint_map = s.key == KeyKind::addr_proto_port_index;
    bool is_map = s.verdict_map || (s.timeout_s != 0 && !s.meter) || endpoint_map;
    out += is_map ? "map " : "set ";
    out += s.name + " {\n\t\t";
    // numgen yields a plain integer, which only a typeof declaration can put in a concatenation.
    if (endpoint_map)
        out += "typeof " + fam(f) + " daddr . meta l4proto . th dport . numgen random mod 1 : " + fam(f) + " daddr . th dport";
    else
        out += "type " + key_type_text(s.key, f);
    if (s.verdict_map) out += " : verdict";
    if (s.timeout_s != 0 && !s.meter) out += " : " + key_type_text(KeyKind::addr_port, f);
    out += "\n";
    if (s.size != 0) out += "\t\tsize " + std::to_string(s.size) + "\n";
    if (s.counter) out += "\t\tcounter\n";
    if (s.timeout_s != 0) {
        out += "\t\tflags dynamic,timeout\n";
        out += "\t\ttimeout " + timeout_text(s.timeout_s) + "\n";
    }
    if (with_elements && !s.elems.empty()) {
        out += "\t\telements = { ";
        for (size_t i = 0; i < s.elems.size(); ++i) {
            if (i) out += ",\n\t\t\t     ";
            append_elem_text(out, s, s.elems[i], f);
        }
        out += " }\n";
    }
    out += "\t}\n";
}

void append_chain(std::string& out, const Chain& c, Family f) {
    out += "\tchain " + c.name + " {\n";
    if (c.base) {
        out += "\t\ttype ";
        out += c.base->type == ChainType::nat ? "nat" : "filter";
        out += " hook ";
        out += hook_text(c.base->hook);
        out += " priority " + priority_text(*c.base) + "; policy accept;\n";
    }
    for (const auto& r : c.rules) out += "\t\t" + rule_text(r, f) + "\n";
    out += "\t}\n";
}

}  // namespace

std::string rule_text(const Rule& r, Family f) {
    std::string out;
    for (const auto& e : r.exprs) {
        if (!out.empty()) out += ' ';
        out += std::visit(ExprText{f}, e);
    }
    return out;
}

std::string elem_text(const Set& set, const SetElem& e, Family f) {
    std::string k;
    append_elem_text(k, set, e, f);
    return k;
}

namespace {

std::string ruleset_text(const Ruleset& rs, bool with_elements) {
    std::string out = "table " + fam(rs.family) + " " + rs.table + " {\n";
    bool first = true;
    for (const auto& c : rs.counters) {
        if (!first) out += "\n";
        first = false;
        out += "\tcounter " + c + " {\n\t}\n";
    }
    for (const auto& s : rs.sets) {
        if (!first) out += "\n";
        first = false;
        append_set(out, s, rs.family, with_elements);
    }
    for (const auto& c : rs.chains) {
        if (!first) out += "\n";
        first = false;
        append_chain(out, c, rs.family);
    }
    return out + "}\n";
}

}  // namespace

std::string to_nft_text(const Ruleset& rs) { return ruleset_text(rs, true); }

std::string to_nft_text_without_elements(const Ruleset& rs) { return ruleset_text(rs, false); }

}  // namespace nfgate::nft

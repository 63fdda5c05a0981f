#include "nft/nft_text.hpp"

#include <cstdio>

namespace nfgate::nft {
namespace {

const char* field_text(Field f) {
    switch (f) {
        case Field::saddr: return "ip saddr";
        case Field::daddr: return "ip daddr";
        case Field::saddr_daddr: return "ip saddr . ip daddr";
    }
    return "";
}

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

std::string endpoint_text(uint32_t ip, uint16_t port) { return ip_to_string(ip) + ":" + std::to_string(port); }

struct ExprText {
    std::string operator()(const MatchCidr& e) const {
        std::string v = e.cidr.len == 32 ? ip_to_string(e.cidr.addr) : cidr_to_string(e.cidr);
        return std::string(field_text(e.field)) + (e.negate ? " != " : " ") + v;
    }
    std::string operator()(const MatchSet& e) const { return std::string(field_text(e.field)) + " @" + e.set; }
    std::string operator()(const Comment& e) const { return "comment \"" + e.text + "\""; }
    std::string operator()(const MatchL4proto& e) const { return std::string("meta l4proto ") + proto_name(e.proto); }
    std::string operator()(const MatchMarkBit& e) const {
        return "meta mark & " + hex32(e.bit) + " == " + hex32(e.bit);
    }
    std::string operator()(const MatchCtDnat&) const { return "ct status dnat"; }
    std::string operator()(const MatchCtNotNew&) const { return "ct state != new"; }
    std::string operator()(const MatchCtFrontend& e) const {
        return "ct original ip daddr . meta l4proto . ct original proto-dst @" + e.set;
    }
    std::string operator()(const MatchNumgen& e) const { return "numgen random mod " + std::to_string(e.mod) + " 0"; }
    std::string operator()(const VmapAddrProtoPort& e) const {
        return "ip daddr . meta l4proto . th dport vmap @" + e.map;
    }
    std::string operator()(const VmapProtoPort& e) const { return "meta l4proto . th dport vmap @" + e.map; }
    std::string operator()(const SetMarkBit& e) const {
        return e.on ? "meta mark set meta mark | " + hex32(e.bit) : "meta mark set meta mark & " + hex32(~e.bit);
    }
    std::string operator()(const UpdateAffinity& e) const {
        return "update @" + e.map + " { ip saddr : " + ip_to_string(e.ip) + " . " + std::to_string(e.port) + " }";
    }
    std::string operator()(const DnatEndpointMap& e) const {
        return "dnat ip to ip daddr . meta l4proto . th dport . jhash ip saddr . th sport mod " + std::to_string(e.count) +
               " seed 0x0 map @" + e.map;
    }
    std::string operator()(const DnatAffinity& e) const { return "dnat ip to ip saddr map @" + e.map; }
    std::string operator()(const Dnat& e) const { return "dnat to " + endpoint_text(e.ip, e.port); }
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
    std::string operator()(const MatchTcpFrontend& e) const { return "ip daddr . tcp dport @" + e.set; }
    std::string operator()(const Notrack&) const { return "notrack"; }
    std::string operator()(const SynProxy& e) const {
        return "synproxy mss " + std::to_string(e.mss);
    }
    std::string operator()(const LimitPerSource& e) const {
        return "update @" + e.set + " { ip saddr limit rate over " + std::to_string(e.rate) + "/second burst " +
               std::to_string(e.burst) + " packets }";
    }
    std::string operator()(const CounterRef& e) const { return "counter name \"" + e.name + "\""; }
};

const char* key_type_text(KeyKind k) {
    switch (k) {
        case KeyKind::addr: return "ipv4_addr";
        case KeyKind::addr_proto_port: return "ipv4_addr . inet_proto . inet_service";
        case KeyKind::proto_port: return "inet_proto . inet_service";
        case KeyKind::addr_proto_port_index: return "";
        case KeyKind::addr_pair: return "ipv4_addr . ipv4_addr";
        case KeyKind::addr_port: return "ipv4_addr . inet_service";
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

void append_set(std::string& out, const Set& s) {
    out += "\t";
    bool endpoint_map = s.key == KeyKind::addr_proto_port_index;
    bool is_map = s.verdict_map || (s.timeout_s != 0 && !s.meter) || endpoint_map;
    out += is_map ? "map " : "set ";
    out += s.name + " {\n\t\t";
    // numgen yields a plain integer, which only a typeof declaration can put in a concatenation.
    if (endpoint_map) out += "typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport";
    else out += std::string("type ") + key_type_text(s.key);
    if (s.verdict_map) out += " : verdict";
    if (s.timeout_s != 0 && !s.meter) out += " : ipv4_addr . inet_service";
    out += "\n";
    if (s.size != 0) out += "\t\tsize " + std::to_string(s.size) + "\n";
    if (s.counter) out += "\t\tcounter\n";
    if (s.timeout_s != 0) {
        out += "\t\tflags dynamic,timeout\n";
        out += "\t\ttimeout " + timeout_text(s.timeout_s) + "\n";
    }
    if (!s.elems.empty()) {
        out += "\t\telements = { ";
        for (size_t i = 0; i < s.elems.size(); ++i) {
            if (i) out += ",\n\t\t\t     ";
            out += elem_text(s, s.elems[i]);
        }
        out += " }\n";
    }
    out += "\t}\n";
}

void append_chain(std::string& out, const Chain& c) {
    out += "\tchain " + c.name + " {\n";
    if (c.base) {
        out += "\t\ttype ";
        out += c.base->type == ChainType::nat ? "nat" : "filter";
        out += " hook ";
        out += hook_text(c.base->hook);
        out += " priority " + priority_text(*c.base) + "; policy accept;\n";
    }
    for (const auto& r : c.rules) out += "\t\t" + rule_text(r) + "\n";
    out += "\t}\n";
}

}  // namespace

std::string rule_text(const Rule& r) {
    std::string out;
    for (const auto& e : r.exprs) {
        if (!out.empty()) out += ' ';
        out += std::visit(ExprText{}, e);
    }
    return out;
}

std::string elem_text(const Set& set, const SetElem& e) {
    std::string k;
    switch (set.key) {
        case KeyKind::addr: k = ip_to_string(e.addr); break;
        case KeyKind::addr_proto_port:
            k = ip_to_string(e.addr) + " . " + proto_name(e.proto) + " . " + std::to_string(e.port);
            break;
        case KeyKind::proto_port: k = std::string(proto_name(e.proto)) + " . " + std::to_string(e.port); break;
        case KeyKind::addr_pair: k = ip_to_string(e.addr) + " . " + ip_to_string(e.to.ip); break;
        case KeyKind::addr_port: k = ip_to_string(e.addr) + " . " + std::to_string(e.port); break;
        case KeyKind::addr_proto_port_index:
            k = ip_to_string(e.addr) + " . " + proto_name(e.proto) + " . " + std::to_string(e.port) + " . " +
                std::to_string(e.index) + " : " + ip_to_string(e.to.ip) + " . " + std::to_string(e.to.port);
            break;
    }
    if (set.counter) k += " counter";  // as `nft -s list` prints it: no figures
    if (set.verdict_map) k += " : goto " + e.goto_chain;
    return k;
}

std::string to_nft_text(const Ruleset& rs) {
    std::string out = "table ip " + rs.table + " {\n";
    bool first = true;
    for (const auto& c : rs.counters) {
        if (!first) out += "\n";
        first = false;
        out += "\tcounter " + c + " {\n\t}\n";
    }
    for (const auto& s : rs.sets) {
        if (!first) out += "\n";
        first = false;
        append_set(out, s);
    }
    for (const auto& c : rs.chains) {
        if (!first) out += "\n";
        first = false;
        append_chain(out, c);
    }
    return out + "}\n";
}

}  // namespace nfgate::nft

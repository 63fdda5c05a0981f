#include "control/loader/field_reader.hpp"

#include <charconv>

namespace nfgate::loader {

namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(std::initializer_list<std::string_view> items) {
    std::string out;
    for (auto s : items) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

// A scalar that is not null; anything else is reported as a type error naming `want`.
bool scalar_or_report(Reporter& r, YNode n, const FieldPath& f, std::string_view want) {
    if (n.is_null()) return false;
    if (n.is_scalar()) return true;
    r.error(n.line(), f, "want " + std::string(want) + ", got " + n.describe());
    return false;
}

}  // namespace

std::string FieldPath::str() const {
    std::string prefix = parent ? parent->str() : std::string();
    if (key.empty()) return index < 0 ? prefix : prefix + "[" + std::to_string(index) + "]";
    if (prefix.empty()) return std::string(key);
    return prefix + "." + std::string(key);
}

std::string Diag::str() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    for (const std::string* part : {&object, &field, &message}) {
        if (part->empty()) continue;
        if (!out.empty()) out += ": ";
        out += *part;
    }
    return out;
}

void Reporter::error(int line, const FieldPath& field, std::string message) {
    error(line, field.str(), std::move(message));
}

void Reporter::error(int line, std::string field, std::string message) {
    errors_.push_back(Diag{*file_, line, object_, std::move(field), std::move(message)});
}

void Reporter::notice(int line, std::string message) {
    notices_.push_back(Diag{*file_, line, object_, {}, std::move(message)});
}

bool require(Reporter& r, YNode n, int parent_line, const FieldPath& f, std::string_view want) {
    if (!n.is_null()) return true;
    r.error(n.present() ? n.line() : parent_line, f, "missing (want " + std::string(want) + ")");
    return false;
}

bool read_string(Reporter& r, YNode n, const FieldPath& f, std::string& out) {
    if (!scalar_or_report(r, n, f, "a string")) return false;
    out = n.str();
    return true;
}

bool read_uint(Reporter& r, YNode n, const FieldPath& f, uint64_t min, uint64_t max, uint64_t& out) {
    std::string range = std::to_string(min) + "-" + std::to_string(max);
    if (!scalar_or_report(r, n, f, "an integer " + range)) return false;
    auto s = n.str();
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || end != s.data() + s.size() || ec == std::errc::invalid_argument) {
        r.error(n.line(), f, "want an integer " + range + ", got " + quoted(s));
        return false;
    }
    if (ec == std::errc::result_out_of_range || v < min || v > max) {
        r.error(n.line(), f, std::string(s) + " is out of range (want " + range + ")");
        return false;
    }
    out = v;
    return true;
}

bool read_bool(Reporter& r, YNode n, const FieldPath& f, bool& out) {
    if (!scalar_or_report(r, n, f, "true or false")) return false;
    auto s = n.str();
    if (!n.is_quoted() && (s == "true" || s == "True" || s == "TRUE")) {
        out = true;
        return true;
    }
    if (!n.is_quoted() && (s == "false" || s == "False" || s == "FALSE")) {
        out = false;
        return true;
    }
    r.error(n.line(), f, "want true or false, got " + quoted(s));
    return false;
}

bool read_ipv4(Reporter& r, YNode n, const FieldPath& f, uint32_t& out) {
    if (!scalar_or_report(r, n, f, "an IPv4 address")) return false;
    if (parse_ipv4(n.str(), out)) return true;
    r.error(n.line(), f, quoted(n.str()) + " is not an IPv4 address (want a.b.c.d, e.g. 192.0.2.1)");
    return false;
}

bool read_cidr(Reporter& r, YNode n, const FieldPath& f, Cidr& out) {
    if (!scalar_or_report(r, n, f, "an IPv4 CIDR")) return false;
    if (parse_cidr(n.str(), out)) return true;
    IfAddr with_host_bits;
    if (parse_ifaddr(n.str(), with_host_bits)) {
        r.error(n.line(), f,
                quoted(n.str()) + " has host bits set (want " + cidr_to_string(with_host_bits.subnet()) + ")");
        return false;
    }
    r.error(n.line(), f,
            quoted(n.str()) + " is not an IPv4 CIDR (want a.b.c.d/len, e.g. 10.244.0.0/16)");
    return false;
}

bool read_ifaddr(Reporter& r, YNode n, const FieldPath& f, IfAddr& out) {
    if (!scalar_or_report(r, n, f, "an IPv4 address with prefix length")) return false;
    if (parse_ifaddr(n.str(), out)) return true;
    r.error(n.line(), f,
            quoted(n.str()) + " is not an IPv4 address with prefix length (want a.b.c.d/len, e.g. 192.0.2.1/24)");
    return false;
}

namespace {

// Reads one value with `read` and appends it to `out` when it is good.
template <typename T, typename Read>
bool append_read(std::vector<T>& out, Read&& read) {
    T v{};
    if (!read(v)) return false;
    out.push_back(v);
    return true;
}

}  // namespace

bool read_ip_any(Reporter& r, YNode n, const FieldPath& f, std::vector<uint32_t>& v4, std::vector<Ip6>& v6) {
    if (!scalar_or_report(r, n, f, "an IPv4 or IPv6 address")) return false;
    if (!looks_like_ipv6(n.str())) return append_read(v4, [&](uint32_t& v) { return read_ipv4(r, n, f, v); });
    Ip6 a;
    if (parse_ipv6(n.str(), a)) {
        v6.push_back(a);
        return true;
    }
    r.error(n.line(), f, quoted(n.str()) + " is not an IPv6 address (want e.g. 2001:db8::1)");
    return false;
}

bool read_cidr_any(Reporter& r, YNode n, const FieldPath& f, std::vector<Cidr>& v4, std::vector<Cidr6>& v6) {
    if (!scalar_or_report(r, n, f, "an IPv4 or IPv6 CIDR")) return false;
    if (!looks_like_ipv6(n.str())) return append_read(v4, [&](Cidr& v) { return read_cidr(r, n, f, v); });
    Cidr6 c;
    if (parse_cidr6(n.str(), c)) {
        v6.push_back(c);
        return true;
    }
    IfAddr6 with_host_bits;
    if (parse_ifaddr6(n.str(), with_host_bits))
        r.error(n.line(), f,
                quoted(n.str()) + " has host bits set (want " + cidr6_to_string(with_host_bits.subnet()) + ")");
    else
        r.error(n.line(), f, quoted(n.str()) + " is not an IPv6 CIDR (want addr/len, e.g. fd00:10:244::/56)");
    return false;
}

bool read_ifaddr_any(Reporter& r, YNode n, const FieldPath& f, std::vector<IfAddr>& v4, std::vector<IfAddr6>& v6) {
    if (!scalar_or_report(r, n, f, "an address with prefix length")) return false;
    if (!looks_like_ipv6(n.str())) return append_read(v4, [&](IfAddr& v) { return read_ifaddr(r, n, f, v); });
    IfAddr6 a;
    if (parse_ifaddr6(n.str(), a)) {
        v6.push_back(a);
        return true;
    }
    r.error(n.line(), f,
            quoted(n.str()) + " is not an IPv6 address with prefix length (want addr/len, e.g. 2001:db8:1::1/64)");
    return false;
}

bool read_enum(Reporter& r, YNode n, const FieldPath& f, std::initializer_list<std::string_view> choices,
               size_t& out) {
    if (!scalar_or_report(r, n, f, "one of: " + join(choices))) return false;
    size_t i = 0;
    for (auto c : choices) {
        if (n.str() == c) {
            out = i;
            return true;
        }
        ++i;
    }
    r.error(n.line(), f, quoted(n.str()) + " is not valid (want one of: " + join(choices) + ")");
    return false;
}

bool expect_list(Reporter& r, YNode n, const FieldPath& f) {
    if (n.is_seq() || n.is_null()) return true;
    r.error(n.line(), f, "want a list, got " + n.describe());
    return false;
}

bool expect_map(Reporter& r, YNode n, const FieldPath& f) {
    if (n.is_map()) return true;
    if (n.is_null()) return false;
    r.error(n.line(), f, "want a mapping (key: value), got " + n.describe());
    return false;
}

void reject_unknown_keys(Reporter& r, YNode n, const FieldPath& f, std::initializer_list<std::string_view> valid) {
    if (!n.is_map()) return;
    for (size_t i = 0; i < n.size(); ++i) {
        YNode k = n.key(i);
        bool known = false;
        for (auto v : valid) known = known || (k.is_scalar() && k.str() == v);
        if (known) continue;
        std::string name = k.is_scalar() ? std::string(k.str()) : k.describe();
        FieldPath p = f.child(k.is_scalar() ? k.str() : std::string_view("?"));
        r.error(k.line(), p, "unknown key " + quoted(name) + " (valid keys: " + join(valid) + ")");
    }
}

bool looks_like_ipv6(std::string_view s) { return s.find(':') != std::string_view::npos; }

}  // namespace nfgate::loader

#include "model/ip6.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace nfgate {

std::string ip6_to_string(const Ip6& a) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, a.data(), buf, sizeof buf) == nullptr) return "?";
    return buf;
}

std::string endpoint_str(const Ip6& ip, uint16_t port) {
    std::string s = "[";
    s += ip6_to_string(ip);
    s += "]:";
    s += std::to_string(port);
    return s;
}

std::string cidr6_to_string(const Cidr6& c) { return ip6_to_string(c.addr) + "/" + std::to_string(c.len); }

bool parse_ipv6(std::string_view s, Ip6& out) {
    // inet_pton wants a terminated string; the longest IPv6 text (with an embedded IPv4 tail)
    // is 45 characters.
    char buf[INET6_ADDRSTRLEN];
    if (s.empty() || s.size() >= sizeof buf || s.find(':') == std::string_view::npos) return false;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    Ip6 a;
    if (inet_pton(AF_INET6, buf, a.data()) != 1) return false;
    out = a;
    return true;
}

static bool split_prefix6(std::string_view s, Ip6& ip, uint8_t& len) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return false;
    if (!parse_ipv6(s.substr(0, slash), ip)) return false;
    auto pl = s.substr(slash + 1);
    unsigned v = 0;
    auto [q, ec] = std::from_chars(pl.data(), pl.data() + pl.size(), v);
    if (pl.empty() || ec != std::errc{} || q != pl.data() + pl.size() || v > 128) return false;
    len = static_cast<uint8_t>(v);
    return true;
}

bool parse_cidr6(std::string_view s, Cidr6& out) {
    Ip6 ip;
    uint8_t len;
    if (!split_prefix6(s, ip, len) || ip6_prefix(ip, len) != ip) return false;
    out = Cidr6{ip, len};
    return true;
}

bool parse_ifaddr6(std::string_view s, IfAddr6& out) {
    Ip6 ip;
    uint8_t len;
    if (!split_prefix6(s, ip, len)) return false;
    out = IfAddr6{ip, len};
    return true;
}

}  // namespace nfgate

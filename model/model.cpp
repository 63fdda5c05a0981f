#include "model/model.hpp"

#include <charconv>

namespace nfgate {

const char* proto_name(Proto p) {
    switch (p) {
        case Proto::tcp: return "tcp";
        case Proto::udp: return "udp";
        case Proto::sctp: return "sctp";
    }
    return "?";
}

std::string ip_to_string(uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
           std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

std::string endpoint_str(uint32_t ip, uint16_t port) { return ip_to_string(ip) + ":" + std::to_string(port); }

std::string cidr_to_string(const Cidr& c) { return ip_to_string(c.addr) + "/" + std::to_string(c.len); }

bool parse_ipv4(std::string_view s, uint32_t& out) {
    uint32_t ip = 0;
    const char* p = s.data();
    const char* end = s.data() + s.size();
    for (int i = 0; i < 4; ++i) {
        if (p == end || *p < '0' || *p > '9') return false;
        unsigned v = 0;
        const char* start = p;
        auto [q, ec] = std::from_chars(p, end, v);
        // "01" is ambiguous (octal in inet_aton): reject leading zeros like Kubernetes does.
        if (ec != std::errc{} || v > 255 || (q - start > 1 && *start == '0')) return false;
        ip = ip << 8 | v;
        p = q;
        if (i < 3) {
            if (p == end || *p != '.') return false;
            ++p;
        }
    }
    if (p != end) return false;
    out = ip;
    return true;
}

static bool split_prefix(std::string_view s, uint32_t& ip, uint8_t& len) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return false;
    if (!parse_ipv4(s.substr(0, slash), ip)) return false;
    auto pl = s.substr(slash + 1);
    unsigned v = 0;
    auto [q, ec] = std::from_chars(pl.data(), pl.data() + pl.size(), v);
    if (pl.empty() || ec != std::errc{} || q != pl.data() + pl.size() || v > 32) return false;
    len = static_cast<uint8_t>(v);
    return true;
}

bool parse_cidr(std::string_view s, Cidr& out) {
    uint32_t ip;
    uint8_t len;
    if (!split_prefix(s, ip, len)) return false;
    Cidr c{ip, len};
    if ((ip & c.mask()) != ip) return false;
    out = c;
    return true;
}

bool parse_ifaddr(std::string_view s, IfAddr& out) {
    uint32_t ip;
    uint8_t len;
    if (!split_prefix(s, ip, len)) return false;
    out = IfAddr{ip, len};
    return true;
}

}  // namespace nfgate

// IPv6 addresses and prefixes of the model. An IPv6 address is kept as it sits in a packet
// (16 bytes, network order): the fast path compares and copies it without swapping, nft/ hands
// it to the kernel as is. IPv4 stays a host-order uint32_t (model.hpp); the model carries the
// two families side by side, as kube-proxy runs one proxier per family.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nfgate {

struct Ip6 {
    std::array<uint8_t, 16> b{};

    static Ip6 from(const void* p) {
        Ip6 a;
        std::memcpy(a.b.data(), p, 16);
        return a;
    }
    friend bool operator==(const Ip6&, const Ip6&) = default;
    friend auto operator<=>(const Ip6&, const Ip6&) = default;

    // Byte by byte, as the header holds it.
    constexpr uint8_t operator[](size_t i) const { return b[i]; }
    uint8_t* data() { return b.data(); }
    const uint8_t* data() const { return b.data(); }
    static constexpr size_t size() { return 16; }
    // The two 64-bit halves ORed: cheaper than 16 byte compares on the hot path.
    bool is_zero() const {
        uint64_t h, l;
        std::memcpy(&h, b.data(), 8);
        std::memcpy(&l, b.data() + 8, 8);
        return (h | l) == 0;
    }
};

// The first `len` bits of `a`, the rest cleared.
inline Ip6 ip6_prefix(const Ip6& a, uint8_t len) {
    Ip6 out;
    for (unsigned i = 0; i < 16; ++i) {
        unsigned bits = len > 8 * i ? len - 8 * i : 0;
        uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff00u >> bits);
        out.b[i] = a.b[i] & mask;
    }
    return out;
}

struct Cidr6 {
    Ip6 addr;         // network address, host bits cleared
    uint8_t len = 0;  // prefix length 0..128

    bool contains(const Ip6& ip) const { return ip6_prefix(ip, len) == addr; }
    bool operator==(const Cidr6&) const = default;
    auto operator<=>(const Cidr6&) const = default;
};

// An IPv6 address on an interface with its prefix (2001:db8:1::1/64).
struct IfAddr6 {
    Ip6 addr;
    uint8_t len = 0;
    Cidr6 subnet() const { return Cidr6{ip6_prefix(addr, len), len}; }
    bool operator==(const IfAddr6&) const = default;
};

// RFC 5952 text ("2001:db8::1"), and the reverse. The parsers take what inet_pton(AF_INET6)
// takes; a prefix is "addr/len" with len 0..128 (host bits must be clear for a CIDR).
std::string ip6_to_string(const Ip6& a);
std::string endpoint_str(const Ip6& ip, uint16_t port);  // "[fd00:10:244:1::2]:8080"
std::string cidr6_to_string(const Cidr6& c);
bool parse_ipv6(std::string_view s, Ip6& out);
bool parse_cidr6(std::string_view s, Cidr6& out);
bool parse_ifaddr6(std::string_view s, IfAddr6& out);

}  // namespace nfgate

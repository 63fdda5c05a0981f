// An IPv6 address as it sits in the packet (network order, 16 bytes), and the special ranges
// of RFC 4291 a router checks before it forwards.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace nfgate::net {

struct Ip6Addr {
    std::array<uint8_t, 16> b{};

    static Ip6Addr from(const void* p) {
        Ip6Addr a;
        std::memcpy(a.b.data(), p, 16);
        return a;
    }
    friend bool operator==(const Ip6Addr&, const Ip6Addr&) = default;

    // Byte by byte, as the header holds it.
    constexpr uint8_t operator[](size_t i) const { return b[i]; }
    uint8_t* data() { return b.data(); }
    const uint8_t* data() const { return b.data(); }
    static constexpr size_t size() { return 16; }
};

// The two 64-bit halves ORed: cheaper than 16 byte compares on the hot path.
inline bool ip6_is_unspecified(const Ip6Addr& a) {
    uint64_t h, l;
    std::memcpy(&h, a.b.data(), 8);
    std::memcpy(&l, a.b.data() + 8, 8);
    return (h | l) == 0;
}

inline bool ip6_is_loopback(const Ip6Addr& a) {
    uint64_t h, l;
    std::memcpy(&h, a.b.data(), 8);
    std::memcpy(&l, a.b.data() + 8, 8);
    constexpr uint8_t one[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    uint64_t want;
    std::memcpy(&want, one, 8);
    return h == 0 && l == want;
}

// ff00::/8 (RFC 4291 2.7).
inline bool ip6_is_multicast(const Ip6Addr& a) { return a.b[0] == 0xff; }

// fe80::/10 (RFC 4291 2.5.6): never forwarded off its link.
inline bool ip6_is_link_local(const Ip6Addr& a) { return a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80; }

}  // namespace nfgate::net

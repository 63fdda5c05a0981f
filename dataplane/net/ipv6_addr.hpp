// The special ranges of RFC 4291 a router checks before it forwards an IPv6 packet.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "model/ip6.hpp"

namespace nfgate::net {

// The model's IPv6 address (16 bytes as the header holds them) is the packet's.
using Ip6Addr = nfgate::Ip6;

// The address's halves folded and multiplied by 2^64/phi (Fibonacci hashing): every bit of the
// address reaches the product's top bits, so a table indexed by those spreads addresses that
// differ anywhere (the pods of one prefix differ in their last bytes only). Take the top bits.
// One multiply: the IPv6 forwarding path asks it per packet.
inline uint64_t ip6_spread(const Ip6Addr& a) {
    uint64_t h, l;
    std::memcpy(&h, a.b.data(), 8);
    std::memcpy(&l, a.b.data() + 8, 8);
    return (h ^ l) * 0x9e3779b97f4a7c15ull;
}

// :: (RFC 4291 2.5.2)
inline bool ip6_is_unspecified(const Ip6Addr& a) { return a.is_zero(); }

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

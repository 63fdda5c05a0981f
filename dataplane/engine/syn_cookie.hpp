// SYN cookies for the SYN proxy (syn_proxy.hpp): the initial sequence number the gateway answers
// a client's SYN with is a keyed hash of the connection, the client's ISN and a 64-second time
// slot, with the client's MSS class in its two low bits. The client's ACK carries it back
// (ack - 1), so nothing is stored per SYN: a spoofed SYN flood costs one hash and one answer.
// Keyed SipHash-2-4 (Aumasson and Bernstein): without the key, a cookie for another address
// or port cannot be derived from the cookies an attacker sees for its own.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "model/ip6.hpp"

namespace nfgate::engine {

struct SipKey {
    uint64_t k0 = 0, k1 = 0;
};

// SipHash-2-4 of `n` 64-bit words (the message is their 8n little-endian bytes).
inline uint64_t siphash24(const SipKey& key, const uint64_t* words, unsigned n) {
    uint64_t v0 = key.k0 ^ 0x736f6d6570736575ull, v1 = key.k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = key.k0 ^ 0x6c7967656e657261ull, v3 = key.k1 ^ 0x7465646279746573ull;
    auto rotl = [](uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
    auto round = [&] {
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
    };
    for (unsigned i = 0; i < n; ++i) {
        v3 ^= words[i];
        round();
        round();
        v0 ^= words[i];
    }
    const uint64_t last = uint64_t{(8 * n) & 0xff} << 56;
    v3 ^= last;
    round();
    round();
    v0 ^= last;
    v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) round();
    return v0 ^ v1 ^ v2 ^ v3;
}

// The MSS classes a cookie can carry (RFC 879's 536, then common path MTUs' values).
inline constexpr uint16_t kCookieMss[4] = {536, 1220, 1440, 1460};

// The largest class not above the client's MSS (536 when the SYN names none).
inline uint8_t cookie_mss_class(uint16_t client_mss) {
    uint8_t c = 0;
    for (uint8_t i = 0; i < 4; ++i)
        if (kCookieMss[i] <= client_mss) c = i;
    return c;
}

// Addresses and ports in network order, as in the packet the client sent (client -> VIP).
struct CookieTuple {
    uint32_t client_ip, vip;
    uint16_t client_port, vip_port;
};

// The same for an IPv6 connection.
struct CookieTuple6 {
    Ip6 client_ip, vip;
    uint16_t client_port, vip_port;
};

inline constexpr unsigned kCookieSlotShift = 6;  // 64-second slots; a cookie lives 64-128 s

// The MSS class is hashed too, so a client cannot pick another one by changing the low bits.
inline uint32_t cookie_hash(const SipKey& key, const CookieTuple& t, uint32_t client_isn, uint32_t slot,
                            uint32_t mss_class) {
    const uint64_t words[3] = {uint64_t{t.client_ip} | uint64_t{t.vip} << 32,
                               uint64_t{t.client_port} | uint64_t{t.vip_port} << 16 | uint64_t{client_isn} << 32,
                               uint64_t{slot} << 2 | mss_class};
    return static_cast<uint32_t>(siphash24(key, words, 3));
}

inline uint32_t cookie_hash(const SipKey& key, const CookieTuple6& t, uint32_t client_isn, uint32_t slot,
                            uint32_t mss_class) {
    uint64_t words[6];
    std::memcpy(&words[0], t.client_ip.data(), 16);
    std::memcpy(&words[2], t.vip.data(), 16);
    words[4] = uint64_t{t.client_port} | uint64_t{t.vip_port} << 16 | uint64_t{client_isn} << 32;
    words[5] = uint64_t{slot} << 2 | mss_class;
    return static_cast<uint32_t>(siphash24(key, words, 6));
}

template <class Tuple>
uint32_t make_cookie(const SipKey& key, const Tuple& t, uint32_t client_isn, uint32_t now_s, uint8_t mss_class) {
    const uint32_t cls = mss_class & 3u;
    return (cookie_hash(key, t, client_isn, now_s >> kCookieSlotShift, cls) & ~3u) | cls;
}

// True when `cookie` (the ACK's ack - 1) was made for this connection and client ISN (the ACK's
// seq - 1) in this slot or the one before; `mss` is then the class's value.
template <class Tuple>
bool check_cookie(const SipKey& key, const Tuple& t, uint32_t client_isn, uint32_t cookie, uint32_t now_s,
                  uint16_t& mss) {
    const uint32_t slot = now_s >> kCookieSlotShift;
    for (uint32_t s : {slot, slot - 1}) {
        if (((cookie_hash(key, t, client_isn, s, cookie & 3u) ^ cookie) & ~3u) == 0) {
            mss = kCookieMss[cookie & 3u];
            return true;
        }
    }
    return false;
}

}  // namespace nfgate::engine

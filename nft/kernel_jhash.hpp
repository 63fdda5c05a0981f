// The kernel's jhash (Bob Jenkins' lookup3, as include/linux/jhash.h computes it) and nft's
// `jhash ... mod N` on top of it (nft_hash.c: reciprocal_scale of the hash). Pure: lets the
// kernel path's trace name the endpoint the kernel will pick for a client address and port.
#pragma once

#include <cstdint>

#include "model/ip6.hpp"

namespace nfgate::nft {

inline uint32_t rol32(uint32_t v, unsigned s) { return (v << s) | (v >> (32 - s)); }

inline uint32_t kernel_jhash(const uint8_t* k, uint32_t length, uint32_t initval) {
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + length + initval;
    auto word = [](const uint8_t* p) {
        return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
    };
    while (length > 12) {
        a += word(k);
        b += word(k + 4);
        c += word(k + 8);
        a -= c; a ^= rol32(c, 4);  c += b;
        b -= a; b ^= rol32(a, 6);  a += c;
        c -= b; c ^= rol32(b, 8);  b += a;
        a -= c; a ^= rol32(c, 16); c += b;
        b -= a; b ^= rol32(a, 19); a += c;
        c -= b; c ^= rol32(b, 4);  b += a;
        length -= 12;
        k += 12;
    }
    if (length == 0) return c;
    uint8_t tail[12] = {};
    for (uint32_t i = 0; i < length; ++i) tail[i] = k[i];
    a += word(tail);
    b += word(tail + 4);
    c += word(tail + 8);
    c ^= b; c -= rol32(b, 14);
    a ^= c; a -= rol32(c, 11);
    b ^= a; b -= rol32(a, 25);
    c ^= b; c -= rol32(b, 16);
    a ^= c; a -= rol32(c, 4);
    b ^= a; b -= rol32(a, 14);
    c ^= b; c -= rol32(b, 24);
    return c;
}

// `jhash ip saddr . th sport mod n seed 0x0`: the address and the port each in a 32-bit
// register (network order, the port's register zero-padded), eight bytes hashed.
inline uint32_t endpoint_index(uint32_t saddr_host, uint16_t sport_host, uint32_t n) {
    const uint8_t key[8] = {uint8_t(saddr_host >> 24), uint8_t(saddr_host >> 16), uint8_t(saddr_host >> 8),
                            uint8_t(saddr_host),       uint8_t(sport_host >> 8),  uint8_t(sport_host),
                            0, 0};
    return static_cast<uint32_t>((uint64_t{kernel_jhash(key, 8, 0)} * n) >> 32);
}

// `jhash ip6 saddr . th sport mod n seed 0x0`: the address's four registers and the port's,
// twenty bytes hashed.
inline uint32_t endpoint_index(const Ip6& saddr, uint16_t sport_host, uint32_t n) {
    uint8_t key[20] = {};
    for (int i = 0; i < 16; ++i) key[i] = saddr.b[i];
    key[16] = uint8_t(sport_host >> 8);
    key[17] = uint8_t(sport_host);
    return static_cast<uint32_t>((uint64_t{kernel_jhash(key, 20, 0)} * n) >> 32);
}

}  // namespace nfgate::nft

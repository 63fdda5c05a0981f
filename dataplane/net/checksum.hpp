// The Internet checksum: full computation (RFC 1071) and incremental update (RFC 1624), one
// library for the flow table (which precomputes a rewrite's deltas at insert) and the engine.
// Values are 16-bit words in network byte order as they sit in the packet; the one's complement
// sum is byte-order independent as long as every operand uses the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nfgate::net {

// 32-bit accumulator of 16-bit words, folded at the end.
inline uint32_t csum_partial(const void* data, size_t len, uint32_t sum = 0) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (len >= 2) {
        uint16_t w;
        std::memcpy(&w, p, 2);
        sum += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint16_t w = 0;
        std::memcpy(&w, p, 1);
        sum += w;
    }
    return sum;
}

inline uint16_t csum_fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Checksum field value for a buffer whose checksum field is currently zero.
inline uint16_t csum_finish(uint32_t sum) { return static_cast<uint16_t>(~csum_fold(sum)); }

// A sum of (~old + new) over every 16-bit word a rewrite changes. RFC 1624 eqn. 3:
// HC' = ~(~HC + ~m + m'), so several changes fold into one delta applied once per checksum.
struct CsumDelta {
    uint32_t sum = 0;

    void add16(uint16_t old_be, uint16_t new_be) {
        sum += static_cast<uint16_t>(~old_be);
        sum += new_be;
    }
    void add32(uint32_t old_be, uint32_t new_be) {
        add16(static_cast<uint16_t>(old_be >> 16), static_cast<uint16_t>(new_be >> 16));
        add16(static_cast<uint16_t>(old_be), static_cast<uint16_t>(new_be));
    }
    void add(const CsumDelta& o) { sum += o.sum; }
    uint16_t folded() const { return csum_fold(sum); }
};

// Applies a folded delta (CsumDelta::folded(), or one stored with a flow) to a checksum field.
inline uint16_t csum_apply(uint16_t csum_be, uint16_t folded_delta) {
    uint32_t s = static_cast<uint16_t>(~csum_be);
    s += folded_delta;
    return static_cast<uint16_t>(~csum_fold(s));
}
inline uint16_t csum_apply(uint16_t csum_be, const CsumDelta& d) { return csum_apply(csum_be, d.folded()); }

// UDP: a zero checksum means "none" (RFC 768) and must stay zero; a computed zero is sent
// as all ones.
inline uint16_t udp_csum_apply(uint16_t csum_be, uint16_t folded_delta) {
    if (csum_be == 0) return 0;
    const uint16_t c = csum_apply(csum_be, folded_delta);
    return c == 0 ? 0xffff : c;
}
inline uint16_t udp_csum_apply(uint16_t csum_be, const CsumDelta& d) { return udp_csum_apply(csum_be, d.folded()); }

}  // namespace nfgate::net

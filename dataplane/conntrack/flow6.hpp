// The IPv6 flow key and its hash: the counterpart of flow.hpp's FlowKey for the IPv6 table
// (ConntrackTable6). Every field is in NETWORK byte order exactly as it sits in the packet.
#pragma once

#include <cstdint>
#include <cstring>

#include <nmmintrin.h>

#include "dataplane/conntrack/flow.hpp"
#include "dataplane/net/ipv6_addr.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::ct {

// An IPv6 5-tuple: 37 bytes of data in five 64-bit words. ICMPv6 echo request/reply use the
// echo identifier as both ports, like ICMP in FlowKey. `pad` must be zero: keys are compared
// and hashed as five 64-bit words.
struct alignas(8) FlowKey6 {
    net::Ip6Addr src_ip;    // network order
    net::Ip6Addr dst_ip;    // network order
    uint16_t src_port = 0;  // network order; ICMPv6 echo: identifier
    uint16_t dst_port = 0;  // network order; ICMPv6 echo: identifier
    uint8_t proto = 0;      // IPPROTO_* (ICMPv6: net::kProtoIcmpv6)
    uint8_t pad[3] = {0, 0, 0};

    static constexpr unsigned kWords = 5;

    // The key of a packet travelling the other way on the same 5-tuple.
    FlowKey6 reversed() const;

    uint64_t word(unsigned i) const {
        uint64_t w;
        std::memcpy(&w, reinterpret_cast<const char*>(this) + 8 * i, 8);
        return w;
    }

    friend bool operator==(const FlowKey6& a, const FlowKey6& b) {
        uint64_t diff = 0;
        for (unsigned i = 0; i < kWords; i++) diff |= a.word(i) ^ b.word(i);
        return diff == 0;
    }
};
static_assert(sizeof(FlowKey6) == 8 * FlowKey6::kWords, "FlowKey6 is five 64-bit words");

inline FlowKey6 make_key6(const net::Ip6Addr& src_ip, const net::Ip6Addr& dst_ip, uint16_t src_port_be,
                          uint16_t dst_port_be, uint8_t proto) {
    return FlowKey6{src_ip, dst_ip, src_port_be, dst_port_be, proto};  // pad: zero
}

inline FlowKey6 FlowKey6::reversed() const { return make_key6(dst_ip, src_ip, dst_port, src_port, proto); }

// 64 bits of hash: the low half one CRC32C chain over the five words (the bucket, and the
// Maglev pick), the high half (the signature) that half multiplied through by 2^64/phi, so all
// of its 32 bits reach the signature and two keys of one bucket still differ there but for 1 in
// 2^(32 - bucket bits). One chain instead of flow_hash(FlowKey)'s two: a 40-byte key would
// otherwise cost ten CRC steps per packet; a false signature match costs only a key compare.
inline uint64_t flow_hash(const FlowKey6& k) {
    uint64_t lo = kFlowHashSeedLo;
    for (unsigned i = 0; i < FlowKey6::kWords; i++) lo = _mm_crc32_u64(lo, k.word(i));
    const uint64_t hi = (lo * 0x9e3779b97f4a7c15ull) >> 32;
    return (hi << 32) | lo;
}

}  // namespace nfgate::ct

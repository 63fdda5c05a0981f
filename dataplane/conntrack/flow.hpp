// The flow key the connection-tracking table is indexed by and its hash. Every field is in
// NETWORK byte order exactly as it sits in the packet, so the hot path builds a key with plain
// loads and never swaps bytes.
#pragma once

#include <cstdint>
#include <cstring>

#include <nmmintrin.h>

#include "dataplane/net/checksum.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::ct {

// SNAT pool index meaning "this flow holds no SNAT port" (see snat_ports.hpp).
inline constexpr uint16_t kNoSnat = 0xffff;

// Direction of a packet relative to the flow that owns it: `orig` is the direction of the packet
// that created the flow (client -> VIP), `reply` the way back (backend -> gateway or client).
enum class Dir : uint8_t { orig = 0, reply = 1 };

inline constexpr Dir opposite(Dir d) { return d == Dir::orig ? Dir::reply : Dir::orig; }

// A 5-tuple. ICMP echo request/reply use the echo identifier as both ports, so the request and
// its reply map to the same flow. `pad` must be zero: keys are compared as two 64-bit words.
struct alignas(8) FlowKey {
    uint32_t src_ip = 0;    // network order
    uint32_t dst_ip = 0;    // network order
    uint16_t src_port = 0;  // network order; ICMP echo: identifier
    uint16_t dst_port = 0;  // network order; ICMP echo: identifier
    uint8_t proto = 0;      // IPPROTO_*
    uint8_t pad[3] = {0, 0, 0};

    // The key of a packet travelling the other way on the same 5-tuple.
    FlowKey reversed() const;

    uint64_t word(unsigned i) const {
        uint64_t w;
        std::memcpy(&w, reinterpret_cast<const char*>(this) + 8 * i, 8);
        return w;
    }

    friend bool operator==(const FlowKey& a, const FlowKey& b) {
        return ((a.word(0) ^ b.word(0)) | (a.word(1) ^ b.word(1))) == 0;
    }
};
static_assert(sizeof(FlowKey) == 16, "FlowKey is two 64-bit words");

inline FlowKey make_key(uint32_t src_ip_be, uint32_t dst_ip_be, uint16_t src_port_be,
                        uint16_t dst_port_be, uint8_t proto) {
    FlowKey k;
    k.src_ip = src_ip_be;
    k.dst_ip = dst_ip_be;
    k.src_port = src_port_be;
    k.dst_port = dst_port_be;
    k.proto = proto;
    return k;
}

inline FlowKey FlowKey::reversed() const { return make_key(dst_ip, src_ip, dst_port, src_port, proto); }

// 64 bits of hash from two independent CRC32C chains (SSE4.2). The table takes its bucket index
// from the low half and the in-bucket signature from the high half, so they do not correlate.
// Maglev and client-affinity users can take either half as a 32-bit flow hash.
// The low seed is shared with flow_hash(FlowKey6) (flow6.hpp).
inline constexpr uint32_t kFlowHashSeedLo = 0x9747b28cu;
inline constexpr uint32_t kFlowHashSeedHi = 0x5bd1e995u;

inline uint64_t flow_hash(const FlowKey& k) {
    const uint64_t w0 = k.word(0);
    const uint64_t w1 = k.word(1);
    const uint64_t lo = _mm_crc32_u64(_mm_crc32_u64(kFlowHashSeedLo, w0), w1);
    const uint64_t hi = _mm_crc32_u64(_mm_crc32_u64(kFlowHashSeedHi, w1), w0);
    return (hi << 32) | lo;
}

}  // namespace nfgate::ct

// The IPv6 half of the harness's traffic: the same flows and connection storm as workload.hpp
// over the dual-stack model's IPv6 addresses, in 78-byte TCP frames (the smallest IPv6 TCP
// frame that holds the tag).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "bench/harness/workload.hpp"

namespace nfgate::bench {

// An address from its eight 16-bit groups, as written (2001:db8:1::1 is 0x2001, 0xdb8, 1, 0,
// 0, 0, 0, 1).
constexpr Ip6 ip6_of(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g4, uint16_t g5, uint16_t g6,
                     uint16_t g7) {
    const uint16_t g[8] = {g0, g1, g2, g3, g4, g5, g6, g7};
    Ip6 a;
    for (unsigned i = 0; i < 8; ++i) {
        a.b[2 * i] = static_cast<uint8_t>(g[i] >> 8);
        a.b[2 * i + 1] = static_cast<uint8_t>(g[i]);
    }
    return a;
}

// The harness's IPv6 network, beside net:: (the Model in throughput_main.cpp is built from it).
namespace net6 {
inline constexpr Ip6 kGwExt = ip6_of(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);            // 2001:db8:1::1/64
inline constexpr Ip6 kGwPods = ip6_of(0xfd00, 0x10, 0x244, 0, 0, 0, 0, 1);        // fd00:10:244::1/48
inline constexpr uint8_t kExtLen = 64, kPodsLen = 48;
inline constexpr Ip6 kPodsNet = ip6_of(0xfd00, 0x10, 0x244, 0, 0, 0, 0, 0);       // the cluster CIDR
inline constexpr Ip6 kServiceNet = ip6_of(0xfd00, 0x10, 0x96, 0, 0, 0, 0, 0);     // /112
inline constexpr Ip6 kRouter = ip6_of(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0xfe);        // ::/0 next hop
inline constexpr Ip6 kLbVip = ip6_of(0x2001, 0xdb8, 0x18, 0, 0, 0, 0, 1);         // :80, 16 endpoints
inline constexpr Ip6 kStormVip = ip6_of(0x2001, 0xdb8, 0x18, 0, 0, 0, 0, 2);      // :80, one endpoint
inline constexpr Ip6 kLbClusterIp = ip6_of(0xfd00, 0x10, 0x96, 0, 0, 0, 0, 1);
inline constexpr Ip6 kStormClusterIp = ip6_of(0xfd00, 0x10, 0x96, 0, 0, 0, 0, 2);
inline constexpr Ip6 kStormBackend = ip6_of(0xfd00, 0x10, 0x244, 2, 0, 0, 0, 1);  // :8080
// The LB's endpoints fd00:10:244:1::1 .. ::16 (hex), port net::kBackendPort.
constexpr Ip6 backend(unsigned i) { return ip6_of(0xfd00, 0x10, 0x244, 1, 0, 0, 0, static_cast<uint16_t>(1 + i)); }
// Whether `ip` is one of them.
bool is_backend(const Ip6& ip);
}  // namespace net6

// As Flow, over IPv6; `backend` is all zero until the SYN's answer tells it.
struct Flow6 {
    Ip6 client;
    uint16_t cport = 0;
    Ip6 backend;
};

std::vector<Flow6> make_flows6(uint32_t count, unsigned space, unsigned worker);

Workload handshake_syn6(const std::vector<Flow6>& flows, unsigned burst);
Workload handshake_synack6(const std::vector<Flow6>& flows, unsigned burst);
Workload handshake_ack6(const std::vector<Flow6>& flows, unsigned burst);

// As established(): each flow once per direction, bursts alternating between the sides.
Workload established6(const std::vector<Flow6>& flows, unsigned burst, std::mt19937_64& rng);

// As connection_storm(), to the IPv6 one-endpoint VIP.
Workload connection_storm6(uint32_t conns, unsigned space, unsigned worker, unsigned burst);

}  // namespace nfgate::bench

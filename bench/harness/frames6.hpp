// IPv6 frames for the throughput harness, on the same terms as frames.hpp: built once before
// timing, parsed after the burst, a 32-bit tag at the start of the L4 payload. IPv6 has no
// header checksum, so the upper-layer checksum (over the pseudo-header with both addresses) is
// the one that shows a translation done wrong.
#pragma once

#include <cstdint>
#include <string>

#include <rte_ether.h>

#include "bench/harness/frames.hpp"
#include "model/ip6.hpp"

namespace nfgate::bench {

inline constexpr uint8_t kIcmp6 = 58;
inline constexpr uint8_t kIcmp6NeighbourSolicit = 135;
// The smallest IPv6 frames that hold the tag: Ethernet + IPv6 + TCP + tag is 78 bytes (82 on
// the wire), + UDP + tag 66. Both are above the Ethernet minimum, so nothing pads them.
inline constexpr uint16_t kMinTcpFrame6 = 14 + 40 + 20 + 4;
inline constexpr uint16_t kMinUdpFrame6 = 14 + 40 + 8 + 4;

struct FrameSpec6 {
    rte_ether_addr src_mac{}, dst_mac{};
    Ip6 src, dst;
    uint16_t sport = 0, dport = 0;
    uint8_t proto = kTcp;  // TCP or UDP
    uint8_t tcp_flags = kAck;
    uint32_t tag = 0;
    uint16_t frame_len = kMinTcpFrame6;  // whole frame; the payload pads up to it
};

// Writes spec.frame_len bytes to `out`.
void build_frame6(const FrameSpec6& spec, uint8_t* out);

struct Parsed6 {
    rte_ether_addr src_mac{}, dst_mac{};
    Ip6 src, dst;
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0, hop_limit = 0, tcp_flags = 0, icmp_type = 0;
    uint32_t tag = 0;
    bool checksum_ok = false;  // the upper-layer checksum, recomputed from scratch
    Ip6 nd_target;             // a neighbour solicitation's target
};

// False unless the frame is IPv6 with TCP, UDP or ICMPv6 right after the fixed header (what
// the gateway sends for this traffic: no extension headers) and its payload length fits.
bool parse_frame6(const uint8_t* p, uint32_t len, Parsed6& out);

// As neighbour_mac() for IPv4: a neighbour's MAC derived from its address (the four 32-bit
// words folded, unique for the harness's neighbours).
rte_ether_addr neighbour_mac6(const Ip6& ip);

// "2001:db8::1".
std::string ip6_text(const Ip6& ip);

}  // namespace nfgate::bench

// Frames for the throughput harness: built once before timing (checksums from scratch) and
// parsed after the burst to check what the worker sent. Every IPv4 frame carries a 32-bit tag
// at the start of its L4 payload, so each output is matched to the packet that caused it.
#pragma once

#include <cstdint>

#include <rte_ether.h>

namespace nfgate::bench {

inline constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1;
inline constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01;
inline constexpr uint16_t kMinFrame = 60;  // Ethernet minimum without FCS (64 on the wire)

struct FrameSpec {
    rte_ether_addr src_mac{}, dst_mac{};
    uint32_t src = 0, dst = 0;  // host order
    uint16_t sport = 0, dport = 0;  // ICMP echo: identifier in sport
    uint8_t proto = kTcp;
    uint8_t tcp_flags = kAck;
    uint8_t icmp_type = 8;
    uint32_t tag = 0;
    uint16_t frame_len = kMinFrame;  // whole frame; the payload pads up to it
};

// Writes spec.frame_len bytes to `out`.
void build_frame(const FrameSpec& spec, uint8_t* out);

// An ARP reply from (mac, ip) to the requester (req_mac, req_ip); 60 bytes.
void build_arp_reply(const rte_ether_addr& mac, uint32_t ip, const rte_ether_addr& req_mac, uint32_t req_ip,
                     uint8_t* out);

struct Parsed {
    uint16_t ether_type = 0;
    rte_ether_addr src_mac{}, dst_mac{};
    // IPv4
    uint32_t src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0, ttl = 0, tcp_flags = 0, icmp_type = 0;
    uint32_t tag = 0;
    bool checksums_ok = false;  // IPv4 header and L4, recomputed
    // ARP
    uint16_t arp_op = 0;
    uint32_t arp_sip = 0, arp_tip = 0;
    rte_ether_addr arp_sha{};
};

// False when the frame is neither a well-formed IPv4 TCP/UDP/ICMP frame nor ARP.
bool parse_frame(const uint8_t* p, uint32_t len, Parsed& out);

// Neighbours in the harness get MACs derived from their address, so checks need no table.
rte_ether_addr neighbour_mac(uint32_t ip);

}  // namespace nfgate::bench

// Builds IPv6 test frames (Ethernet / IPv6 / extension headers / TCP, UDP, ICMPv6) into byte
// vectors, so the IPv6 parser tests and benchmarks state packets as fields. The upper-layer
// checksum is computed here by a plain big-endian sum of its own, not by checksum6.hpp, so
// tests can hold one against the other.
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <vector>

#include "dataplane/net/ipv6_addr.hpp"

namespace nfgate::test {

net::Ip6Addr ip6(const char* text);  // aborts the test binary on a typo

// One extension header, whole; its first byte (Next Header) is filled in by serialize6.
struct Ext6 {
    uint8_t kind = 0;  // the Next Header value naming it
    std::vector<uint8_t> bytes;

    // Hop-by-Hop / Destination Options of 8 * (1 + len8) bytes, padded with PadN.
    static Ext6 hop_by_hop(uint8_t len8 = 0);
    static Ext6 dst_opts(uint8_t len8 = 0);
    // Routing header of `type`, `segments_left`, carrying `addresses` 16-byte addresses.
    static Ext6 routing(uint8_t type, uint8_t segments_left, uint8_t addresses = 1);
    // Fragment header: offset in 8-byte units, M flag, identification.
    static Ext6 fragment(uint16_t offset8, bool more, uint32_t id = 0x01020304);
};

struct Pkt6 {
    rte_ether_addr eth_src{{0x02, 0, 0, 0, 0xee, 0x01}};
    rte_ether_addr eth_dst{{0x02, 0, 0, 0, 0, 0x00}};
    net::Ip6Addr src, dst;
    uint8_t version = 6;
    uint8_t proto = 6;  // the upper layer, after `ext`
    uint16_t sport = 0, dport = 0;  // ICMPv6 echo: identifier in sport
    uint8_t tcp_flags = 0x02;
    uint32_t seq = 1000, ack = 0;
    std::vector<uint8_t> tcp_options;  // whole 32-bit words
    uint8_t hop_limit = 64;
    uint8_t icmp_type = 128, icmp_code = 0;
    std::vector<Ext6> ext;          // in packet order
    std::vector<uint8_t> payload;   // after the upper-layer header
    bool l4_header = true;          // false: `payload` alone follows the chain (later fragments)
    bool udp_csum = true;           // false: a zero UDP checksum

    static Pkt6 tcp(const char* s, uint16_t sp, const char* d, uint16_t dp, uint8_t flags = 0x02);
    static Pkt6 udp(const char* s, uint16_t sp, const char* d, uint16_t dp);
    static Pkt6 echo(const char* s, const char* d, uint16_t id);
};

// The upper-layer checksum (RFC 8200 8.1) computed independently of checksum6.hpp.
uint16_t reference_l4_checksum6(const net::Ip6Addr& src, const net::Ip6Addr& dst, uint8_t proto,
                                const uint8_t* l4, size_t len);

// Ethernet frame of `p`, payload length and checksum set from what it holds.
std::vector<uint8_t> serialize6(const Pkt6& p);

}  // namespace nfgate::test

// Builds Ethernet + IPv6 test frames (neighbour discovery, ICMPv6, any payload) and reads the
// answers back, so the tests of ndp.hpp and icmp6_answer.hpp state packets as fields. Checksums
// come from DPDK's rte_ipv6_udptcp_cksum, not from the code under test.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/engine/icmp6_wire.hpp"
#include "tests/engine/packet_builder6.hpp"  // ip6("...")

namespace nfgate::test {

std::string ip6_str(const engine::Ip6& a);

struct Frame6 {
    rte_ether_addr eth_src{{0x02, 0, 0, 0, 0xee, 0x01}};
    rte_ether_addr eth_dst{{0x02, 0, 0, 0, 0, 0x01}};
    engine::Ip6 src{}, dst{};
    uint8_t traffic_class = 0;
    uint8_t hop_limit = 255;
    uint8_t next_header = engine::kProtoIcmp6;
    std::vector<uint8_t> payload;  // everything after the IPv6 header
    bool fix_checksum = true;      // ICMPv6 payload: write its checksum (bytes 2-3)
    size_t eth_padding = 0;        // zero bytes after the IPv6 packet
};

std::vector<uint8_t> serialize6(const Frame6& f);

// An NS or NA body: type, code 0, flags byte, target, then `options` as given.
std::vector<uint8_t> nd_body(uint8_t type, const engine::Ip6& target, uint8_t flags = 0,
                             const std::vector<uint8_t>& options = {});
// A link-layer address option (1: source, 2: target) carrying `mac`.
std::vector<uint8_t> lladdr_option(uint8_t type, const rte_ether_addr& mac);
// An ICMPv6 message: type, code, the 32-bit field, then `data`.
std::vector<uint8_t> icmp6_body(uint8_t type, uint8_t code, uint32_t field, const std::vector<uint8_t>& data = {});

// The parsed view of an output frame.
struct Out6 {
    rte_ether_addr eth_src{}, eth_dst{};
    uint16_t ether_type = 0;
    uint32_t frame_len = 0;  // bytes the mbuf holds
    uint8_t version = 0, traffic_class = 0;
    uint32_t flow_label = 0;
    uint16_t payload_len = 0;
    uint8_t next_header = 0, hop_limit = 0;
    engine::Ip6 src{}, dst{};
    std::vector<uint8_t> payload;  // payload_len bytes (fewer if the frame is short)
    bool icmp6_csum_ok = false;    // recomputed by DPDK
};

Out6 parse_out6(const rte_mbuf* m);

}  // namespace nfgate::test

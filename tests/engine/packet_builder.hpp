// Builds test frames (Ethernet/IPv4/TCP/UDP/ICMP/ARP) with correct checksums into mbufs, and
// reads them back, so fixtures state packets as fields rather than bytes.
#pragma once

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nfgate::test {

uint32_t ip(const char* dotted);  // host order; aborts the test binary on a typo

struct Pkt {
    rte_ether_addr eth_src{{0x02, 0, 0, 0, 0xee, 0x01}};
    rte_ether_addr eth_dst{{0x02, 0, 0, 0, 0, 0x00}};
    uint32_t src = 0, dst = 0;  // host order
    uint8_t proto = 6;
    uint16_t sport = 0, dport = 0;  // ICMP: identifier in sport
    uint8_t tcp_flags = 0x02;       // SYN
    uint32_t seq = 1000, ack = 0;
    uint8_t ttl = 64;
    uint8_t icmp_type = 8, icmp_code = 0;
    uint16_t icmp_seq = 1;
    uint16_t frag = 0;              // host-order fragment_offset field (flags + offset)
    uint16_t ip_id = 0x1234;
    std::vector<uint8_t> payload;   // L4 payload (ICMP: after the 8-byte header)
    bool udp_csum = true;

    static Pkt tcp(const char* s, uint16_t sp, const char* d, uint16_t dp, uint8_t flags = 0x02);
    static Pkt udp(const char* s, uint16_t sp, const char* d, uint16_t dp);
    static Pkt echo(const char* s, const char* d, uint16_t id);
};

// Serialises `p` (checksums computed from scratch).
std::vector<uint8_t> serialize(const Pkt& p);

// Appends `n` bytes at `p` to `v` (room made first, then copied: GCC 12 at -O3 flags
// vector::insert of a range with a false -Warray-bounds). The frame builders' one way to grow.
void put_bytes(std::vector<uint8_t>& v, const void* p, size_t n);

// ARP frame (request when `op == 1`, reply when 2).
std::vector<uint8_t> arp_frame(uint16_t op, const rte_ether_addr& sha, uint32_t sip, const rte_ether_addr& tha,
                               uint32_t tip, const rte_ether_addr& eth_dst);

rte_mbuf* to_mbuf(rte_mempool* mp, const std::vector<uint8_t>& bytes);

// The parsed view of an output frame, for assertions.
struct Out {
    rte_ether_addr eth_src{}, eth_dst{};
    uint16_t ether_type = 0;
    uint32_t frame_len = 0;  // bytes the mbuf holds (Ethernet header included)
    uint32_t src = 0, dst = 0;  // host order
    uint8_t proto = 0, ttl = 0;
    uint16_t sport = 0, dport = 0;  // ICMP echo: identifier in both
    uint8_t tcp_flags = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t icmp_type = 0, icmp_code = 0;
    bool ip_csum_ok = false, l4_csum_ok = false;  // recomputed from scratch
    std::vector<uint8_t> l4_bytes;                // from the L4 header to the end of the IP packet
    // ARP
    uint16_t arp_op = 0;
    rte_ether_addr arp_sha{}, arp_tha{};
    uint32_t arp_sip = 0, arp_tip = 0;
};

Out parse_out(const rte_mbuf* m);
std::string mac_str(const rte_ether_addr& a);

}  // namespace nfgate::test

// ICMPv6 answers (RFC 4443) the engine builds in place in the received mbuf and sends back out
// the input port: echo replies for the gateway's addresses, and the errors a router sends
// (port unreachable, hop limit exceeded, packet too big). IPv6's counterpart of icmp_answer.hpp.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>

#include "dataplane/engine/icmp6_verdict.hpp"
#include "dataplane/engine/icmp6_wire.hpp"

namespace nfgate::engine {

// Echo request to one of the gateway's addresses (the caller's decision) -> echo reply from
// that address, sent by `iface_mac`. `answered`, or why `m` is to be dropped.
Icmp6Verdict make_echo6_reply(rte_mbuf* m, const rte_ether_addr& iface_mac);

// The error to send: type, code and the 32-bit field after the checksum (the MTU of Packet Too
// Big, zero otherwise).
struct Icmp6Error {
    uint8_t type = 0;
    uint8_t code = 0;
    uint32_t param = 0;
};
inline constexpr Icmp6Error kPortUnreachable6{kIcmp6DestUnreachable, kIcmp6CodePortUnreachable, 0};
inline constexpr Icmp6Error kHopLimitExceeded6{kIcmp6TimeExceeded, kIcmp6CodeHopLimitExceeded, 0};
// RFC 4443 3.2: "MTU: The Maximum Transmission Unit of the next-hop link."
constexpr Icmp6Error packet_too_big6(uint32_t next_hop_mtu) { return {kIcmp6PacketTooBig, 0, next_hop_mtu}; }

// RFC 8200 5: IPv6 routers do not fragment; a packet longer than the egress link's MTU is
// dropped and answered with Packet Too Big. `ip6_len` counts the IPv6 header.
constexpr bool too_big_for_link(uint32_t ip6_len, uint32_t mtu) { return ip6_len > mtu; }

// RFC 4443 2.4 (c): "Every ICMPv6 error message ... MUST include as much of the IPv6 offending
// (invoking) packet ... as possible without making the error message packet exceed the minimum
// IPv6 MTU": the bytes an error quotes of an offending packet of `len` bytes.
constexpr uint32_t icmp6_quote_len(uint32_t len) { return std::min(len, kIpv6MinMtu - kIp6Len - kIcmp6HdrLen); }

// RFC 4443 2.4 (e): whether `e` may be sent about the IPv6 packet of `len` bytes at `ip6`,
// received with Ethernet destination `eth_dst`.
bool icmp6_error_allowed(const rte_ether_addr& eth_dst, const uint8_t* ip6, uint32_t len, const Icmp6Error& e);

// ICMPv6 error `e` about the packet in `m`, from `src` (an address of the input interface,
// RFC 4443 2.2) to the packet's source, quoting as much of it as icmp6_quote_len allows and the
// first segment holds. `answered`, `not_answerable` (2.4 (e)), `malformed` or `no_room`.
Icmp6Verdict make_icmp6_error(rte_mbuf* m, const Icmp6Error& e, const Ip6& src, const rte_ether_addr& iface_mac);

// TCP reset answering the segment at `tcp` (carried by `m` over IPv6, `seg_len` bytes of TCP
// header and data) from the address it was sent to, as RFC 793 has a closed port answer; the
// IPv6 header is rewritten without extension headers. False when `m` cannot hold it.
bool make_tcp_reset6(rte_mbuf* m, const uint8_t* tcp, uint32_t seg_len, const rte_ether_addr& iface_mac);

// Overwrites `m` (a SYN whose TCP header is at `tcp`) with the SYN proxy's answer: the SYN-ACK
// carrying `cookie` and an MSS option of `mss`, back to the sender (extension headers dropped).
// False when `m` cannot hold it.
bool make_cookie_syn_ack6(rte_mbuf* m, const uint8_t* tcp, const rte_ether_addr& iface_mac, uint32_t cookie,
                          uint16_t mss);

}  // namespace nfgate::engine

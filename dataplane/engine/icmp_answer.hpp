// Answers the engine builds in place in the received mbuf and sends back out the input port:
// ICMP echo replies for the gateway's addresses, ICMP errors (time exceeded, port unreachable),
// TCP resets for service ports without a ready endpoint and the SYN proxy's SYN-ACKs. Each
// returns false when the mbuf cannot hold the answer (chained or too small), in which case the
// caller just drops it.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/net/protocols.hpp"
#include "dataplane/engine/service_table.hpp"

namespace nfgate::engine {

bool icmp_is_error(uint8_t type);

// Echo request addressed to the gateway -> echo reply from that address.
bool make_echo_reply(rte_mbuf* m, const PacketMeta& pm, const IfaceInfo& in_iface);

// ICMP error about the packet in `m`, from `src_ip` (host order) to the packet's source,
// quoting its IP header and the first 8 bytes of payload (RFC 792).
bool make_icmp_error(rte_mbuf* m, const PacketMeta& pm, uint8_t type, uint8_t code, uint32_t src_ip,
                     const IfaceInfo& in_iface);

// RST for a TCP segment that reached a port nobody serves (RFC 793 "Reset Generation", case 1),
// sent from the address and port the segment was addressed to.
bool make_tcp_reset(rte_mbuf* m, const PacketMeta& pm, const IfaceInfo& in_iface);

// The SYN proxy's answer to a client's SYN: SYN-ACK with sequence number `cookie`, an MSS option
// and no other (no window scaling, SACK or timestamps), from the address and port the SYN was
// addressed to (syn_proxy.hpp).
bool make_cookie_syn_ack(rte_mbuf* m, const PacketMeta& pm, const IfaceInfo& in_iface, uint32_t cookie, uint16_t mss);

}  // namespace nfgate::engine

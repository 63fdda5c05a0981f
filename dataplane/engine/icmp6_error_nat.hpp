// ICMPv6 errors (destination unreachable, packet too big, time exceeded, parameter problem)
// about a flow of the IPv6 table: the quoted packet is one the gateway sent, already
// translated, so the quoted header and ports and the outer addresses are translated back, as
// for IPv4 (icmp_error_nat.hpp; RFC 5508 6). IPv6 has no header checksum: the quoted upper
// layer's checksum takes the delta, the error's own ICMPv6 checksum is computed again.
#pragma once

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/engine/packet_parse6.hpp"

namespace nfgate::engine {

inline bool icmp6_is_error(uint8_t type) { return type < net::kIcmp6EchoRequest; }

// True when the error in `pm` quotes a packet of a flow in `flows`: rewritten in place (pm.src
// and pm.dst follow) and ready to route. False: no flow of ours, `pm` untouched.
bool translate_icmp6_error(const ct::ConntrackTable6& flows, PacketMeta6& pm);

}  // namespace nfgate::engine

// The checksum arithmetic of a NAT rewrite between two 5-tuples, per protocol, in one place:
// what the flow table precomputes at insert, and what an ICMP error's quoted packet needs.
// RFC 1624 deltas: addresses for the IP header; addresses and ports for TCP/UDP (their
// pseudo-header covers the addresses); the echo identifier alone for ICMP, whose checksum covers
// no pseudo-header. IPv6 (Tuple6) has no header checksum, and its TCP, UDP and ICMPv6 checksums
// all cover a pseudo-header with both addresses (RFC 8200 8.1). Every value is in network byte order as it sits in the packet.
#pragma once

#include <cstdint>

#include "dataplane/net/checksum.hpp"
#include "dataplane/net/checksum6.hpp"
#include "dataplane/net/ipv6_addr.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::net {

struct Tuple {
    uint32_t src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;  // ICMP echo: the identifier in both
};

struct TupleDeltas {
    CsumDelta ip;  // for the IPv4 header checksum
    CsumDelta l4;  // for the TCP/UDP/ICMP checksum
};

inline TupleDeltas tuple_deltas(uint8_t proto, const Tuple& from, const Tuple& to) {
    TupleDeltas d;
    d.ip.add32(from.src, to.src);
    d.ip.add32(from.dst, to.dst);
    if (proto == kProtoIcmp) {
        d.l4.add16(from.sport, to.sport);
    } else {
        d.l4 = d.ip;
        d.l4.add16(from.sport, to.sport);
        d.l4.add16(from.dport, to.dport);
    }
    return d;
}

struct Tuple6 {
    Ip6Addr src, dst;
    uint16_t sport = 0, dport = 0;  // ICMPv6 echo: the identifier in both
};

// The one delta an IPv6 rewrite needs, for the TCP/UDP/ICMPv6 checksum: both addresses, and the
// ports or (ICMPv6 echo) the identifier once.
inline CsumDelta tuple6_l4_delta(uint8_t proto, const Tuple6& from, const Tuple6& to) {
    CsumDelta d;
    csum_delta_add_ip6(d, from.src, to.src);
    csum_delta_add_ip6(d, from.dst, to.dst);
    d.add16(from.sport, to.sport);
    if (proto != kProtoIcmpv6) d.add16(from.dport, to.dport);
    return d;
}

}  // namespace nfgate::net

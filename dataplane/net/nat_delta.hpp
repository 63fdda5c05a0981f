// The checksum arithmetic of a NAT rewrite between two 5-tuples, per protocol, in one place:
// what the flow table precomputes at insert, and what an ICMP error's quoted packet needs.
// RFC 1624 deltas: addresses for the IP header; addresses and ports for TCP/UDP (their
// pseudo-header covers the addresses); the echo identifier alone for ICMP, whose checksum covers
// no pseudo-header. Every value is in network byte order as it sits in the packet.
#pragma once

#include <cstdint>

#include "dataplane/net/checksum.hpp"
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

}  // namespace nfgate::net

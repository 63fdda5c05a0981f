// The upper-layer checksum of IPv6 (RFC 8200 8.1): there is no IP header checksum, and every
// TCP/UDP/ICMPv6 checksum covers a pseudo-header of the two 128-bit addresses, the upper-layer
// length and the Next Header value. A full computation (tests, generated ICMPv6) and the
// RFC 1624 update when a NAT66 rewrite changes an address (8 words) or a port, on the folding
// of checksum.hpp. Values are in network byte order as they sit in the packet.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>
#include <cstring>

#include "dataplane/net/checksum.hpp"
#include "dataplane/net/ipv6_addr.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::net {

// Sum of the pseudo-header: source, destination, 32-bit upper-layer length, three zero bytes
// and the Next Header value (RFC 8200 8.1). With a Routing header the destination is the final
// one, not the one in the IPv6 header: the caller passes the address it means.
inline uint32_t ip6_pseudo_sum(const Ip6Addr& src, const Ip6Addr& dst, uint32_t l4_len, uint8_t proto) {
    uint32_t s = csum_partial(src.b.data(), 16);
    s = csum_partial(dst.b.data(), 16, s);
    const uint32_t tail[2] = {rte_cpu_to_be_32(l4_len), rte_cpu_to_be_32(proto)};
    return csum_partial(tail, sizeof tail, s);
}

// The checksum field value for an upper-layer packet `l4` of `len` bytes whose checksum field
// reads zero. UDP: "if that computation yields a result of zero, it must be changed to hex FFFF
// for placement in the UDP header" (RFC 8200 8.1); a zero there means "no checksum", which
// IPv6 does not allow.
inline uint16_t ip6_l4_checksum(const Ip6Addr& src, const Ip6Addr& dst, uint8_t proto, const void* l4, uint32_t len) {
    const uint16_t c = csum_finish(csum_partial(l4, len, ip6_pseudo_sum(src, dst, len, proto)));
    return (c == 0 && proto == kProtoUdp) ? 0xffff : c;
}

// True when the upper-layer packet, checksum field included, sums to all ones. A UDP checksum
// of zero is never valid on IPv6 (RFC 8200 8.1: receivers "must discard UDP packets containing
// a zero checksum").
inline bool ip6_l4_checksum_ok(const Ip6Addr& src, const Ip6Addr& dst, uint8_t proto, const void* l4, uint32_t len) {
    if (proto == kProtoUdp && len >= 8) {
        uint16_t field;
        std::memcpy(&field, static_cast<const uint8_t*>(l4) + 6, 2);
        if (field == 0) return false;
    }
    return csum_fold(csum_partial(l4, len, ip6_pseudo_sum(src, dst, len, proto))) == 0xffff;
}

// Adds the change of one 128-bit address (8 words, RFC 1624 eqn. 3) to a delta.
inline void csum_delta_add_ip6(CsumDelta& d, const Ip6Addr& from, const Ip6Addr& to) {
    for (unsigned i = 0; i < 16; i += 2) {
        uint16_t o, n;
        std::memcpy(&o, from.b.data() + i, 2);
        std::memcpy(&n, to.b.data() + i, 2);
        d.add16(o, n);
    }
}

// UDP over IPv6: the received checksum is never zero (the parser drops those), so unlike
// udp_csum_apply there is no "stays zero" case; a result of zero is sent as all ones.
inline uint16_t udp6_csum_apply(uint16_t csum_be, uint16_t folded_delta) {
    const uint16_t c = csum_apply(csum_be, folded_delta);
    return c == 0 ? 0xffff : c;
}
inline uint16_t udp6_csum_apply(uint16_t csum_be, const CsumDelta& d) { return udp6_csum_apply(csum_be, d.folded()); }

}  // namespace nfgate::net

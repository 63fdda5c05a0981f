// The IPv6 extension header walk (see packet_parse6.hpp for what is done with each header).
#include "dataplane/engine/packet_parse6.hpp"

namespace nfgate::engine {

namespace {

// Fragment data field: offset in its upper 13 bits, M in bit 0 (RFC 8200 4.5).
constexpr uint16_t kFragMore = 0x0001;
constexpr unsigned kFragOffsetShift = 3;
constexpr uint32_t kMaxDatagram = 65535;

// Reads the fragment header `h` (at `off` of a payload of `end` bytes, whole) into `pm`.
bool read_fragment_header(PacketMeta6& pm, const uint8_t* h, uint32_t off, uint32_t end, Reason& r) {
    const auto* f = reinterpret_cast<const rte_ipv6_fragment_ext*>(h);
    const uint16_t data = rte_be_to_cpu_16(f->frag_data);
    const uint32_t frag_bytes = end - off - static_cast<uint32_t>(sizeof *f);
    pm.frag_hdr_off = static_cast<uint16_t>(sizeof(rte_ipv6_hdr) + off);
    pm.frag_offset = static_cast<uint16_t>(data >> kFragOffsetShift);
    pm.more_fragments = (data & kFragMore) != 0;
    pm.frag_id = f->id;
    pm.fragment = pm.more_fragments || pm.frag_offset != 0;
    pm.later_fragment = pm.frag_offset != 0;
    // RFC 8200 4.5: a fragment other than the last is a multiple of 8 bytes long, and no
    // fragment reaches past 65535 bytes of the original packet.
    if ((pm.more_fragments && frag_bytes % 8 != 0) || pm.frag_offset * 8u + frag_bytes > kMaxDatagram) {
        r = Reason::ip6_fragment_malformed;
        return false;
    }
    return true;
}

}  // namespace

bool walk_ip6_extensions(PacketMeta6& pm, uint8_t nh, Reason& r) {
    uint8_t* const base = reinterpret_cast<uint8_t*>(pm.ip + 1);
    const uint32_t end = pm.payload_len;
    uint32_t off = 0;  // from the end of the fixed header
    unsigned count = 0;
    // A truncated chain in a first fragment is the sender's fault of RFC 7112, not a cut frame.
    auto truncated = [&] {
        r = pm.fragment ? Reason::ip6_first_fragment_incomplete : Reason::ip6_ext_truncated;
        return false;
    };
    while (ip6_is_extension(nh) && !pm.later_fragment) {
        if (count == kMaxIp6ExtHeaders || sizeof(rte_ipv6_hdr) + off >= kMaxIp6ChainBytes) {
            r = Reason::ip6_ext_chain_too_long;
            return false;
        }
        uint8_t* h = base + off;
        uint32_t len;
        if (nh == net::kProtoFragment) {
            // Fragmentation is done once, by the source (RFC 8200 4.5): a second fragment
            // header has no sender and two datagram identities cannot be tracked. RFC 8200 4.1
            // asks receivers to accept repeated headers; this one is refused on purpose.
            if (pm.frag_hdr_off != 0) {
                r = Reason::ip6_ext_misplaced;
                return false;
            }
            len = sizeof(rte_ipv6_fragment_ext);
            if (off + len > end) return truncated();
            if (!read_fragment_header(pm, h, off, end, r)) return false;
            // A later fragment ends the walk: what follows is the middle of the datagram.
        } else {
            // Hop-by-Hop, Routing, Destination Options: next header, then the length in 8-byte
            // units not counting the first 8 (RFC 8200 4.3, 4.4, 4.6).
            if (nh == net::kProtoHopOpts && count != 0) {
                r = Reason::ip6_ext_misplaced;
                return false;
            }
            if (off + 2 > end) return truncated();
            len = (h[1] + 1u) * 8u;
            if (off + len > end) return truncated();
            if (nh == net::kProtoRouting) {
                const uint8_t type = h[2], segments_left = h[3];
                if (type == 0) {
                    r = Reason::ip6_routing_type0;
                    return false;
                }
                // The first one still to be followed is the one its waypoint acts on.
                if (segments_left != 0 && pm.segments_left == 0) {
                    pm.segments_left = segments_left;
                    pm.routing_off = static_cast<uint16_t>(sizeof(rte_ipv6_hdr) + off);
                }
            }
        }
        ++count;
        nh = h[0];
        off += len;
    }
    if (!pm.later_fragment && sizeof(rte_ipv6_hdr) + off > kMaxIp6ChainBytes) {
        r = Reason::ip6_ext_chain_too_long;
        return false;
    }
    pm.proto = nh;
    pm.l4 = base + off;
    pm.l4_len = static_cast<uint16_t>(end - off);
    pm.ext_count = static_cast<uint8_t>(count);
    return true;
}

}  // namespace nfgate::engine

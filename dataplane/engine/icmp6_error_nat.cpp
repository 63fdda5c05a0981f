#include "dataplane/engine/icmp6_error_nat.hpp"

#include <cstring>

#include "dataplane/engine/icmp6_wire.hpp"
#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/net/nat_delta.hpp"

namespace nfgate::engine {

namespace {

// The invoking packet an error quotes: its IPv6 header, its upper layer after any extension
// headers (RFC 4443 2.4 (c) quotes from the start), and that layer's ports.
struct Quoted6 {
    rte_ipv6_hdr* ip = nullptr;
    uint8_t proto = 0;
    uint8_t* l4 = nullptr;
    uint32_t l4_len = 0;  // bytes of it the error holds
    uint16_t sport = 0, dport = 0;  // network order; ICMPv6 echo: the identifier in both
};

bool parse_quoted6(const PacketMeta6& pm, Quoted6& q) {
    if (pm.l4_len < kIcmp6HdrLen + kIp6Len + 8) return false;
    uint8_t* start = pm.l4 + kIcmp6HdrLen;
    const uint32_t len = pm.l4_len - kIcmp6HdrLen;
    q.ip = reinterpret_cast<rte_ipv6_hdr*>(start);
    if ((rte_be_to_cpu_32(q.ip->vtc_flow) >> 28) != 6) return false;
    uint8_t next = q.ip->proto;
    uint32_t off = kIp6Len;
    for (unsigned n = 0; ip6_is_extension(next); ++n) {
        if (n == kMaxIp6ExtHeaders || off + 8 > len) return false;
        if (next == net::kProtoFragment) {
            if ((start[off + 2] << 8 | start[off + 3]) & 0xfff8) return false;  // a later fragment: no ports
            next = start[off];
            off += 8;
        } else {
            next = start[off];
            off += (start[off + 1] + 1u) * 8;
        }
    }
    if (off + 8 > len) return false;
    q.proto = next;
    q.l4 = start + off;
    q.l4_len = len - off;
    switch (next) {
        case net::kProtoTcp:
        case net::kProtoUdp:
            std::memcpy(&q.sport, q.l4, 2);
            std::memcpy(&q.dport, q.l4 + 2, 2);
            return true;
        case net::kProtoIcmpv6:
            if (q.l4[0] != net::kIcmp6EchoRequest && q.l4[0] != net::kIcmp6EchoReply) return false;
            std::memcpy(&q.sport, q.l4 + 4, 2);
            q.dport = q.sport;
            return true;
        default:
            return false;
    }
}

}  // namespace

bool translate_icmp6_error(const ct::ConntrackTable6& flows, PacketMeta6& pm) {
    Quoted6 q;
    if (!parse_quoted6(pm, q)) return false;
    const Ip6 qsrc = Ip6::from(q.ip->src_addr), qdst = Ip6::from(q.ip->dst_addr);
    // The error travels against the quoted packet: the quoted tuple reversed.
    const ct::FlowRef6 ref = flows.lookup(ct::make_key6(qdst, qsrc, q.dport, q.sport, q.proto));
    if (!ref) return false;
    const ct::FlowEntry6& e = *ref.entry;
    const ct::Dir d = ref.dir;

    // The quoted packet as it was before the gateway translated it.
    const ct::FlowKey6 before = e.key_of(ct::opposite(d));
    const net::CsumDelta qd = net::tuple6_l4_delta(q.proto, net::Tuple6{qsrc, qdst, q.sport, q.dport},
                                                   net::Tuple6{before.src_ip, before.dst_ip, before.src_port, before.dst_port});
    std::memcpy(q.ip->src_addr, before.src_ip.data(), 16);
    std::memcpy(q.ip->dst_addr, before.dst_ip.data(), 16);
    write_l4_ports(q.proto, q.l4, q.l4_len, before.src_port, before.dst_port, qd.folded());

    // The outer header goes where any packet of direction d goes; its source is translated
    // only when it is the flow's own peer (a router on the way keeps its address).
    const ct::FlowKey6 out = e.translated(d);
    const Ip6 new_src = pm.src == e.key_of(d).src_ip ? out.src_ip : pm.src;
    std::memcpy(pm.ip->src_addr, new_src.data(), 16);
    std::memcpy(pm.ip->dst_addr, out.dst_ip.data(), 16);
    pm.src = new_src;
    pm.dst = out.dst_ip;
    pm.l4[2] = pm.l4[3] = 0;
    const uint16_t c = icmp6_checksum(pm.ip->src_addr, pm.ip->dst_addr, pm.l4, pm.l4_len);
    std::memcpy(pm.l4 + 2, &c, 2);
    return true;
}

}  // namespace nfgate::engine

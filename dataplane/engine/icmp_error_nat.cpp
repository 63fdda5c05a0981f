#include "dataplane/engine/icmp_error_nat.hpp"

#include <cstring>

#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/net/nat_delta.hpp"

namespace nfgate::engine {

namespace {

// The packet an ICMP error quotes: its IP header and the first bytes of its L4 header.
struct Quoted {
    rte_ipv4_hdr* ip = nullptr;
    uint8_t* l4 = nullptr;
    uint32_t l4_len = 0;  // bytes of the quoted L4 header present in the error
    uint16_t sport = 0, dport = 0;  // network order; ICMP echo: identifier in both
};

bool parse_quoted(const PacketMeta& pm, Quoted& q) {
    const uint32_t ihl = static_cast<uint32_t>(pm.l4 - reinterpret_cast<uint8_t*>(pm.ip));
    const uint32_t icmp_len = pm.l3_len - ihl;
    if (icmp_len < sizeof(rte_icmp_hdr) + sizeof(rte_ipv4_hdr) + 8) return false;
    q.ip = reinterpret_cast<rte_ipv4_hdr*>(pm.l4 + sizeof(rte_icmp_hdr));
    const uint32_t inner_ihl = (q.ip->version_ihl & 0xf) * 4u;
    if ((q.ip->version_ihl >> 4) != 4 || inner_ihl < sizeof(rte_ipv4_hdr) ||
        icmp_len < sizeof(rte_icmp_hdr) + inner_ihl + 8)
        return false;
    q.l4 = reinterpret_cast<uint8_t*>(q.ip) + inner_ihl;
    q.l4_len = icmp_len - static_cast<uint32_t>(sizeof(rte_icmp_hdr)) - inner_ihl;
    switch (q.ip->next_proto_id) {
        case net::kProtoTcp:
        case net::kProtoUdp:
            std::memcpy(&q.sport, q.l4, 2);
            std::memcpy(&q.dport, q.l4 + 2, 2);
            return true;
        case net::kProtoIcmp: {
            const auto* e = reinterpret_cast<const rte_icmp_hdr*>(q.l4);
            if (e->icmp_type != net::kIcmpEchoRequest && e->icmp_type != net::kIcmpEchoReply) return false;
            q.sport = q.dport = e->icmp_ident;
            return true;
        }
        default:
            return false;
    }
}

// Rewrites the quoted packet to `t` (its tuple before the gateway translated it).
void untranslate_quoted(Quoted& q, const ct::FlowKey& t) {
    const uint8_t proto = q.ip->next_proto_id;
    const net::TupleDeltas d = net::tuple_deltas(proto, net::Tuple{q.ip->src_addr, q.ip->dst_addr, q.sport, q.dport},
                                                 net::Tuple{t.src_ip, t.dst_ip, t.src_port, t.dst_port});
    q.ip->src_addr = t.src_ip;
    q.ip->dst_addr = t.dst_ip;
    q.ip->hdr_checksum = net::csum_apply(q.ip->hdr_checksum, d.ip);
    write_l4_ports(proto, q.l4, q.l4_len, t.src_port, t.dst_port, d.l4.folded());
}

}  // namespace

Fate on_icmp_error(SlowCtx& c, PacketMeta& pm, net::CsumDelta& ip_delta) {
    const bool local = c.st.is_local(rte_be_to_cpu_32(pm.dst));
    Quoted q;
    ct::FlowRef ref;
    if (parse_quoted(pm, q)) {
        // The error travels against the quoted packet: look the quoted tuple up reversed.
        ref = c.worker.flows.lookup(
            ct::make_key(q.ip->dst_addr, q.ip->src_addr, q.dport, q.sport, q.ip->next_proto_id));
    }
    if (!ref) {
        // An error about no flow of ours, to the gateway or to a Service address (allocated or
        // not), has nobody to go to: only the flows nfgate translated put those addresses on
        // the wire.
        const uint32_t dst = rte_be_to_cpu_32(pm.dst);
        if (local) return c.to_kernel(Reason::icmp_untracked);  // about the kernel's own traffic
        if (c.st.is_service_address(dst) || c.st.in_service_cidrs(dst)) return c.drop(Reason::icmp_untracked);
        ++c.counters.forwarded_plain;
        return Fate::forward;
    }
    const ct::FlowEntry& e = *ref.entry;
    const ct::Dir d = ref.dir;  // direction the error itself travels
    untranslate_quoted(q, e.key_of(ct::opposite(d)));

    // Outer header: to whom the translated error goes, as any packet of direction d; its source
    // is translated only when it is the flow's own peer (a router on the way keeps its address).
    const ct::FlowKey out = e.translated(d);
    const uint32_t new_src = pm.src == e.key_of(d).src_ip ? out.src_ip : pm.src;
    ip_delta.add32(pm.src, new_src);
    ip_delta.add32(pm.dst, out.dst_ip);
    pm.ip->src_addr = new_src;
    pm.ip->dst_addr = out.dst_ip;
    pm.src = new_src;
    pm.dst = out.dst_ip;

    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(pm.l4);
    const uint32_t icmp_len = pm.l3_len - static_cast<uint32_t>(pm.l4 - reinterpret_cast<uint8_t*>(pm.ip));
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = net::csum_finish(net::csum_partial(icmp, icmp_len));
    ++c.counters.forwarded_nat;
    return Fate::forward;
}

}  // namespace nfgate::engine

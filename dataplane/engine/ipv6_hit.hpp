// An IPv6 packet that hit the IPv6 flow table: the flow's TCP state, its liveness, and the
// rewrite to the flow's translated tuple with the checksum delta precomputed at insert (IPv6 has
// no header checksum: the upper layer's delta covers the pseudo-header addresses and ports).
// Inline: the burst's IPv6 lanes (burst6.hpp) run it for every established packet, and the
// packet-at-a-time path (ipv6_flow.cpp) for the rest.
#pragma once

#include <cstring>

#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/engine/packet_parse6.hpp"
#include "dataplane/engine/slow_path.hpp"
#include "dataplane/engine/syn_proxy.hpp"

namespace nfgate::engine {

// Whether the IPv6 flow table keys the packet: TCP, UDP, ICMPv6 echo.
inline bool ipv6_trackable(const PacketMeta6& pm) {
    return pm.proto == net::kProtoTcp || pm.proto == net::kProtoUdp ||
           (pm.proto == net::kProtoIcmpv6 &&
            (pm.icmp_type == net::kIcmp6EchoRequest || pm.icmp_type == net::kIcmp6EchoReply));
}

// forward: rewritten (or, from the SYN proxy, turned into the ACK back to the backend), to
// route; remake: the flow was unlinked, take the miss path; dropped: counted, to free.
enum class Hit6 : uint8_t { forward, remake, dropped };

// The packet leaves as the flow's other key reversed: its destination is that key's source.
inline void rewrite6(PacketMeta6& pm, const ct::FlowEntry6& e, ct::Dir d) {
    const ct::FlowKey6& other = e.key_of(ct::opposite(d));
    std::memcpy(pm.ip->src_addr, other.dst_ip.data(), 16);
    std::memcpy(pm.ip->dst_addr, other.src_ip.data(), 16);
    write_l4_ports(pm.proto, pm.l4, pm.l4_len, other.dst_port, other.src_port, e.l4_delta(d));
    pm.src = other.dst_ip;
    pm.dst = other.src_ip;
}

// The flow's backend must still serve the service port the client addressed (as for IPv4).
inline bool udp_backend_serves(const ServiceTable6& t, const ct::FlowEntry6& e) {
    const ct::FlowKey6& o = e.key_of(ct::Dir::orig);
    const ct::FlowKey6& r = e.key_of(ct::Dir::reply);
    const ServiceMatch6 sm = t.lookup(o.dst_ip, net::kProtoUdp, rte_be_to_cpu_16(o.dst_port));
    return sm.port != nullptr && sm.port->is_serving(r.src_ip, rte_be_to_cpu_16(r.src_port));
}

inline Hit6 on_ipv6_hit(SlowCtx& c, rte_mbuf* m, PacketMeta6& pm, ct::FlowRef6 ref) {
    ct::FlowEntry6& e = *ref.entry;
    const ct::Dir d = ref.dir;
    // Linux takes a SYN that reopens a closed connection as a new one: chosen again.
    if (e.proto() == net::kProtoTcp && d == ct::Dir::orig &&
        (pm.tcp_flags & (net::kTcpSyn | net::kTcpAck | net::kTcpRst)) == net::kTcpSyn &&
        (e.tcp_state() == ct::TcpState::time_wait || e.tcp_state() == ct::TcpState::close)) [[unlikely]] {
        c.worker.shared.flows6()->unlink(e);
        return Hit6::remake;
    }
    if (e.flags.load(std::memory_order_relaxed) & ct::kFlowSynProxy) [[unlikely]] {
        switch (syn_proxy_hit<ct::ConntrackTable6>(e, d, m, pm, c.now_s, c.counters)) {
            case ProxyHit::go_on: break;
            case ProxyHit::forward_as_is: return Hit6::forward;
            case ProxyHit::drop: return Hit6::dropped;
        }
    }
    if (ct::ConntrackTable6::track(e, d, pm.tcp_flags, c.now_s) == ct::TcpVerdict::invalid) [[unlikely]] {
        c.counters.count(Reason::tcp_invalid_state);
        return Hit6::dropped;
    }
    // A UDP flow whose backend stopped serving is balanced again (as for IPv4).
    if (e.proto() == net::kProtoUdp && flow_kind(e.tag) == kFlowService && !udp_backend_serves(c.st.v6(), e))
        [[unlikely]] {
        c.worker.shared.flows6()->unlink(e);
        return Hit6::remake;
    }
    rewrite6(pm, e, d);
    ++(flow_kind(e.tag) == kFlowPassthrough ? c.counters.forwarded_plain : c.counters.forwarded_nat);
    c.worker.frontends.packet(flow_slot(e.tag), sizeof(rte_ipv6_hdr) + pm.payload_len);
    return Hit6::forward;
}

}  // namespace nfgate::engine

#include "dataplane/engine/syn_proxy.hpp"

#include <rte_ip.h>
#include <rte_tcp.h>

#include <cstring>
#include <utility>

#include "dataplane/net/checksum.hpp"
#include "dataplane/net/protocols.hpp"

namespace nfgate::engine {

namespace {

constexpr uint8_t kAnswerTtl = 64;
constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);

rte_tcp_hdr* tcp_of(const PacketMeta& pm) { return reinterpret_cast<rte_tcp_hdr*>(pm.l4); }

uint32_t ip_header_len(const PacketMeta& pm) {
    return static_cast<uint32_t>(pm.l4 - reinterpret_cast<uint8_t*>(pm.ip));
}

// New TCP segment length `tcp_len` (header only: no payload is kept): lengths, TTL and both
// checksums from scratch.
void finish_segment(rte_mbuf* m, PacketMeta& pm, uint32_t tcp_len) {
    const uint32_t total = ip_header_len(pm) + tcp_len;
    pm.ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(total));
    pm.ip->time_to_live = kAnswerTtl;
    pm.l3_len = static_cast<uint16_t>(total);
    m->data_len = static_cast<uint16_t>(kEthLen + total);
    m->pkt_len = kEthLen + total;
    pm.ip->hdr_checksum = 0;
    pm.ip->hdr_checksum = rte_ipv4_cksum(pm.ip);
    auto* tcp = tcp_of(pm);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum(pm.ip, tcp);
}

// Adds `shift` to a 32-bit sequence field (network order), the TCP checksum following.
uint32_t shifted(rte_tcp_hdr* tcp, uint32_t old_be, uint32_t shift) {
    const uint32_t new_be = rte_cpu_to_be_32(rte_be_to_cpu_32(old_be) + shift);
    net::CsumDelta d;
    d.add32(old_be, new_be);
    tcp->cksum = net::csum_apply(tcp->cksum, d);
    return new_be;
}

void shift_sequence(PacketMeta& pm, ct::Dir d, uint32_t shift) {
    auto* tcp = tcp_of(pm);
    if (d == ct::Dir::orig) {
        if (pm.tcp_flags & net::kTcpAck) tcp->recv_ack = shifted(tcp, tcp->recv_ack, shift);
    } else {
        tcp->sent_seq = shifted(tcp, tcp->sent_seq, 0u - shift);
    }
}

// The backend's SYN-ACK turned around into the ACK that completes its handshake: back to the
// backend from the address it answered, sequence = its ack (client ISN + 1), ack = its ISN + 1.
void syn_ack_to_backend_ack(rte_mbuf* m, PacketMeta& pm) {
    auto* tcp = tcp_of(pm);
    const uint32_t backend_isn = rte_be_to_cpu_32(tcp->sent_seq);
    const rte_be32_t our_seq = tcp->recv_ack;
    const rte_be32_t backend_ip = pm.ip->src_addr;
    const rte_be16_t backend_port = tcp->src_port;
    pm.ip->src_addr = pm.ip->dst_addr;
    pm.ip->dst_addr = backend_ip;
    tcp->src_port = tcp->dst_port;
    tcp->dst_port = backend_port;
    std::swap(pm.src, pm.dst);
    std::swap(pm.sport, pm.dport);
    tcp->sent_seq = our_seq;
    tcp->recv_ack = rte_cpu_to_be_32(backend_isn + 1);
    tcp->data_off = 5 << 4;
    tcp->tcp_flags = net::kTcpAck;
    tcp->rx_win = RTE_BE16(65535);
    tcp->tcp_urp = 0;
    pm.tcp_flags = net::kTcpAck;
    finish_segment(m, pm, sizeof(rte_tcp_hdr));
}

}  // namespace

uint16_t tcp_mss_option(const PacketMeta& pm) {
    const auto* tcp = tcp_of(pm);
    const uint32_t hdr = (tcp->data_off >> 4) * 4u;
    const uint32_t room = pm.l3_len - ip_header_len(pm);
    const uint32_t end = hdr < room ? hdr : room;
    const uint8_t* o = pm.l4;
    for (uint32_t i = sizeof(rte_tcp_hdr); i < end;) {
        if (o[i] == net::kTcpOptEnd) break;
        if (o[i] == net::kTcpOptNop) {
            ++i;
            continue;
        }
        if (i + 1 >= end || o[i + 1] < 2 || i + o[i + 1] > end) break;
        if (o[i] == net::kTcpOptMss && o[i + 1] == 4) return static_cast<uint16_t>(o[i + 2] << 8 | o[i + 3]);
        i += o[i + 1];
    }
    return 0;
}

bool returns_cookie(const SipKey& key, const PacketMeta& pm, uint32_t now_s, uint32_t& client_isn, uint32_t& cookie,
                    uint16_t& mss) {
    if ((pm.tcp_flags & (net::kTcpSyn | net::kTcpRst | net::kTcpFin | net::kTcpAck)) != net::kTcpAck) return false;
    const auto* tcp = tcp_of(pm);
    client_isn = rte_be_to_cpu_32(tcp->sent_seq) - 1;
    cookie = rte_be_to_cpu_32(tcp->recv_ack) - 1;
    return check_cookie(key, cookie_tuple(pm), client_isn, cookie, now_s, mss);
}

bool ack_to_backend_syn(rte_mbuf* m, PacketMeta& pm, uint32_t client_isn, uint16_t mss) {
    constexpr uint32_t kSynLen = sizeof(rte_tcp_hdr) + 4;
    if (m->nb_segs != 1 || kEthLen + ip_header_len(pm) + kSynLen > static_cast<uint32_t>(m->buf_len - m->data_off))
        return false;
    auto* tcp = tcp_of(pm);
    tcp->sent_seq = rte_cpu_to_be_32(client_isn);
    tcp->recv_ack = 0;
    tcp->data_off = 6 << 4;
    tcp->tcp_flags = net::kTcpSyn;
    tcp->tcp_urp = 0;
    const uint8_t option[4] = {net::kTcpOptMss, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)};
    std::memcpy(tcp + 1, option, sizeof option);
    pm.tcp_flags = net::kTcpSyn;
    finish_segment(m, pm, kSynLen);
    return true;
}

ProxyStep syn_proxy_segment(ct::FlowEntry& e, ct::Dir d, rte_mbuf* m, PacketMeta& pm) {
    if (!(e.flags.load(std::memory_order_acquire) & ct::kFlowSynProxyPending)) {
        shift_sequence(pm, d, e.seq_shift.load(std::memory_order_relaxed));
        return ProxyStep::translate;
    }
    if (d == ct::Dir::orig) return ProxyStep::pending;
    const uint32_t cookie = e.seq_shift.load(std::memory_order_relaxed);
    const uint8_t f = pm.tcp_flags & (net::kTcpSyn | net::kTcpAck | net::kTcpRst);
    const uint32_t seq = rte_be_to_cpu_32(tcp_of(pm)->sent_seq);
    uint32_t shift;
    if (f == (net::kTcpSyn | net::kTcpAck)) shift = seq - cookie;       // the backend's ISN
    else if (f & net::kTcpRst) shift = seq - (cookie + 1);              // lands on the client's rcv_nxt
    else return ProxyStep::refused;
    // A retransmitted SYN-ACK handled by two workers at once computes the same shift; only the
    // one that clears the pending bit answers the backend.
    e.seq_shift.store(shift, std::memory_order_relaxed);
    const bool first = e.flags.fetch_and(static_cast<uint8_t>(~ct::kFlowSynProxyPending), std::memory_order_acq_rel) &
                       ct::kFlowSynProxyPending;
    if (f == (net::kTcpSyn | net::kTcpAck) && first) {
        syn_ack_to_backend_ack(m, pm);
        return ProxyStep::handshake_done;
    }
    shift_sequence(pm, d, shift);
    return ProxyStep::translate;
}

}  // namespace nfgate::engine

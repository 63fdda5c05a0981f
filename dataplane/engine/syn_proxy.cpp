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

// Each family's part: where the TCP header is, how many bytes of it the packet holds, and how
// a rewritten segment's IP header and checksums are finished. The TCP steps below are written
// once over both.
template <class Meta>
rte_tcp_hdr* tcp_of(const Meta& pm) { return reinterpret_cast<rte_tcp_hdr*>(pm.l4); }

template <class Meta>
uint32_t ip_header_len(const Meta& pm) {
    return static_cast<uint32_t>(pm.l4 - reinterpret_cast<uint8_t*>(pm.ip));
}

uint32_t tcp_bytes(const PacketMeta& pm) { return pm.l3_len - ip_header_len(pm); }
uint32_t tcp_bytes(const PacketMeta6& pm) { return pm.l4_len; }

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

// IPv6: the segment moves up behind the fixed header (extension headers go: the checksum and
// the hop-by-hop or destination options belonged to the segment that came in), hop limit as a
// fresh packet, payload length and the TCP checksum from scratch.
void finish_segment(rte_mbuf* m, PacketMeta6& pm, uint32_t tcp_len) {
    auto* at = reinterpret_cast<uint8_t*>(pm.ip + 1);
    if (pm.l4 != at) std::memmove(at, pm.l4, tcp_len);
    pm.l4 = at;
    pm.ip->proto = net::kProtoTcp;
    pm.ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(tcp_len));
    pm.ip->hop_limits = kAnswerTtl;
    pm.payload_len = pm.l4_len = static_cast<uint16_t>(tcp_len);
    pm.ext_count = 0;
    pm.hop_limit = kAnswerTtl;
    const uint32_t total = sizeof(rte_ipv6_hdr) + tcp_len;
    m->data_len = static_cast<uint16_t>(kEthLen + total);
    m->pkt_len = kEthLen + total;
    auto* tcp = tcp_of(pm);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv6_udptcp_cksum(pm.ip, tcp);
}

void swap_addresses(PacketMeta& pm) {
    std::swap(pm.src, pm.dst);
    pm.ip->src_addr = pm.src;
    pm.ip->dst_addr = pm.dst;
}

void swap_addresses(PacketMeta6& pm) {
    std::swap(pm.src, pm.dst);
    std::memcpy(pm.ip->src_addr, pm.src.data(), 16);
    std::memcpy(pm.ip->dst_addr, pm.dst.data(), 16);
}

// Adds `shift` to a 32-bit sequence field (network order), the TCP checksum following.
uint32_t shifted(rte_tcp_hdr* tcp, uint32_t old_be, uint32_t shift) {
    const uint32_t new_be = rte_cpu_to_be_32(rte_be_to_cpu_32(old_be) + shift);
    net::CsumDelta d;
    d.add32(old_be, new_be);
    tcp->cksum = net::csum_apply(tcp->cksum, d);
    return new_be;
}

template <class Meta>
void shift_sequence(Meta& pm, ct::Dir d, uint32_t shift) {
    auto* tcp = tcp_of(pm);
    if (d == ct::Dir::orig) {
        if (pm.tcp_flags & net::kTcpAck) tcp->recv_ack = shifted(tcp, tcp->recv_ack, shift);
    } else {
        tcp->sent_seq = shifted(tcp, tcp->sent_seq, 0u - shift);
    }
}

// The backend's SYN-ACK turned around into the ACK that completes its handshake: back to the
// backend from the address it answered, sequence = its ack (client ISN + 1), ack = its ISN + 1.
template <class Meta>
void syn_ack_to_backend_ack(rte_mbuf* m, Meta& pm) {
    auto* tcp = tcp_of(pm);
    const uint32_t backend_isn = rte_be_to_cpu_32(tcp->sent_seq);
    const rte_be32_t our_seq = tcp->recv_ack;
    swap_addresses(pm);
    std::swap(pm.sport, pm.dport);
    tcp->src_port = pm.sport;
    tcp->dst_port = pm.dport;
    tcp->sent_seq = our_seq;
    tcp->recv_ack = rte_cpu_to_be_32(backend_isn + 1);
    tcp->data_off = 5 << 4;
    tcp->tcp_flags = net::kTcpAck;
    tcp->rx_win = RTE_BE16(65535);
    tcp->tcp_urp = 0;
    pm.tcp_flags = net::kTcpAck;
    finish_segment(m, pm, sizeof(rte_tcp_hdr));
}

template <class Meta>
uint16_t mss_option_of(const Meta& pm) {
    const auto* tcp = tcp_of(pm);
    const uint32_t hdr = (tcp->data_off >> 4) * 4u;
    const uint32_t room = tcp_bytes(pm);
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

template <class Meta>
bool cookie_returned(const SipKey& key, const Meta& pm, uint32_t now_s, uint32_t& client_isn, uint32_t& cookie,
                     uint16_t& mss) {
    if ((pm.tcp_flags & (net::kTcpSyn | net::kTcpRst | net::kTcpFin | net::kTcpAck)) != net::kTcpAck) return false;
    const auto* tcp = tcp_of(pm);
    client_isn = rte_be_to_cpu_32(tcp->sent_seq) - 1;
    cookie = rte_be_to_cpu_32(tcp->recv_ack) - 1;
    return check_cookie(key, cookie_tuple(pm), client_isn, cookie, now_s, mss);
}

template <class Meta>
bool turn_ack_into_syn(rte_mbuf* m, Meta& pm, uint32_t client_isn, uint16_t mss) {
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

template <class Entry, class Meta>
ProxyStep proxy_segment(Entry& e, ct::Dir d, rte_mbuf* m, Meta& pm) {
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

}  // namespace

uint16_t tcp_mss_option(const PacketMeta& pm) { return mss_option_of(pm); }
uint16_t tcp_mss_option(const PacketMeta6& pm) { return mss_option_of(pm); }

bool returns_cookie(const SipKey& key, const PacketMeta& pm, uint32_t now_s, uint32_t& client_isn, uint32_t& cookie,
                    uint16_t& mss) {
    return cookie_returned(key, pm, now_s, client_isn, cookie, mss);
}
bool returns_cookie(const SipKey& key, const PacketMeta6& pm, uint32_t now_s, uint32_t& client_isn, uint32_t& cookie,
                    uint16_t& mss) {
    return cookie_returned(key, pm, now_s, client_isn, cookie, mss);
}

bool ack_to_backend_syn(rte_mbuf* m, PacketMeta& pm, uint32_t client_isn, uint16_t mss) {
    return turn_ack_into_syn(m, pm, client_isn, mss);
}
bool ack_to_backend_syn(rte_mbuf* m, PacketMeta6& pm, uint32_t client_isn, uint16_t mss) {
    return turn_ack_into_syn(m, pm, client_isn, mss);
}

ProxyStep syn_proxy_segment(ct::FlowEntry& e, ct::Dir d, rte_mbuf* m, PacketMeta& pm) {
    return proxy_segment(e, d, m, pm);
}
ProxyStep syn_proxy_segment(ct::FlowEntry6& e, ct::Dir d, rte_mbuf* m, PacketMeta6& pm) {
    return proxy_segment(e, d, m, pm);
}

}  // namespace nfgate::engine

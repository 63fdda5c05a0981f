#include "tests/engine/packet_builder.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "model/model.hpp"
#include "dataplane/net/checksum.hpp"

namespace nfgate::test {

using net::csum_finish;
using net::csum_fold;
using net::csum_partial;

uint32_t ip(const char* dotted) {
    uint32_t v = 0;
    if (!parse_ipv4(dotted, v)) {
        std::fprintf(stderr, "packet_builder: bad address literal %s\n", dotted);
        std::abort();
    }
    return v;
}

Pkt Pkt::tcp(const char* s, uint16_t sp, const char* d, uint16_t dp, uint8_t flags) {
    Pkt p;
    p.src = ip(s);
    p.dst = ip(d);
    p.sport = sp;
    p.dport = dp;
    p.proto = 6;
    p.tcp_flags = flags;
    return p;
}

Pkt Pkt::udp(const char* s, uint16_t sp, const char* d, uint16_t dp) {
    Pkt p = tcp(s, sp, d, dp);
    p.proto = 17;
    p.payload = {'p', 'i', 'n', 'g'};
    return p;
}

Pkt Pkt::echo(const char* s, const char* d, uint16_t id) {
    Pkt p = tcp(s, id, d, id);
    p.proto = 1;
    p.payload = {1, 2, 3, 4, 5, 6, 7, 8};
    return p;
}

namespace {

uint32_t pseudo_sum(uint32_t src_be, uint32_t dst_be, uint8_t proto, uint16_t len) {
    uint32_t s = 0;
    s = net::csum_partial(&src_be, 4, s);
    s = net::csum_partial(&dst_be, 4, s);
    uint16_t w[2] = {rte_cpu_to_be_16(proto), rte_cpu_to_be_16(len)};
    return net::csum_partial(w, 4, s);
}

std::vector<uint8_t> l4_of(const Pkt& p, uint32_t src_be, uint32_t dst_be) {
    std::vector<uint8_t> l4;
    if (p.proto == 6) {
        rte_tcp_hdr t{};
        t.src_port = rte_cpu_to_be_16(p.sport);
        t.dst_port = rte_cpu_to_be_16(p.dport);
        t.sent_seq = rte_cpu_to_be_32(p.seq);
        t.recv_ack = rte_cpu_to_be_32(p.ack);
        t.data_off = 5 << 4;
        t.tcp_flags = p.tcp_flags;
        t.rx_win = rte_cpu_to_be_16(65535);
        put_bytes(l4, &t, sizeof(t));
        put_bytes(l4, p.payload.data(), p.payload.size());
        auto* th = reinterpret_cast<rte_tcp_hdr*>(l4.data());
        th->cksum = net::csum_finish(net::csum_partial(l4.data(), l4.size(), pseudo_sum(src_be, dst_be, 6, uint16_t(l4.size()))));
    } else if (p.proto == 17) {
        rte_udp_hdr u{};
        u.src_port = rte_cpu_to_be_16(p.sport);
        u.dst_port = rte_cpu_to_be_16(p.dport);
        u.dgram_len = rte_cpu_to_be_16(uint16_t(sizeof(u) + p.payload.size()));
        put_bytes(l4, &u, sizeof(u));
        put_bytes(l4, p.payload.data(), p.payload.size());
        auto* uh = reinterpret_cast<rte_udp_hdr*>(l4.data());
        if (p.udp_csum) {
            uint16_t c = net::csum_finish(net::csum_partial(l4.data(), l4.size(), pseudo_sum(src_be, dst_be, 17, uint16_t(l4.size()))));
            uh->dgram_cksum = c == 0 ? 0xffff : c;
        }
    } else if (p.proto == 1) {
        rte_icmp_hdr c{};
        c.icmp_type = p.icmp_type;
        c.icmp_code = p.icmp_code;
        c.icmp_ident = rte_cpu_to_be_16(p.sport);
        c.icmp_seq_nb = rte_cpu_to_be_16(p.icmp_seq);
        put_bytes(l4, &c, sizeof(c));
        put_bytes(l4, p.payload.data(), p.payload.size());
        auto* ch = reinterpret_cast<rte_icmp_hdr*>(l4.data());
        ch->icmp_cksum = net::csum_finish(net::csum_partial(l4.data(), l4.size()));
    } else {
        put_bytes(l4, p.payload.data(), p.payload.size());
    }
    return l4;
}

}  // namespace

std::vector<uint8_t> serialize(const Pkt& p) {
    std::vector<uint8_t> f;
    rte_ether_hdr eth{};
    eth.dst_addr = p.eth_dst;
    eth.src_addr = p.eth_src;
    eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    put_bytes(f, &eth, sizeof(eth));
    const uint32_t src_be = rte_cpu_to_be_32(p.src), dst_be = rte_cpu_to_be_32(p.dst);
    std::vector<uint8_t> l4 = l4_of(p, src_be, dst_be);
    rte_ipv4_hdr iph{};
    iph.version_ihl = RTE_IPV4_VHL_DEF;
    iph.total_length = rte_cpu_to_be_16(uint16_t(sizeof(iph) + l4.size()));
    iph.packet_id = rte_cpu_to_be_16(p.ip_id);
    iph.fragment_offset = rte_cpu_to_be_16(p.frag);
    iph.time_to_live = p.ttl;
    iph.next_proto_id = p.proto;
    iph.src_addr = src_be;
    iph.dst_addr = dst_be;
    iph.hdr_checksum = net::csum_finish(net::csum_partial(&iph, sizeof(iph)));
    put_bytes(f, &iph, sizeof(iph));
    put_bytes(f, l4.data(), l4.size());
    return f;
}

std::vector<uint8_t> arp_frame(uint16_t op, const rte_ether_addr& sha, uint32_t sip, const rte_ether_addr& tha,
                               uint32_t tip, const rte_ether_addr& eth_dst) {
    std::vector<uint8_t> f;
    rte_ether_hdr eth{};
    eth.dst_addr = eth_dst;
    eth.src_addr = sha;
    eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    put_bytes(f, &eth, sizeof(eth));
    rte_arp_hdr a{};
    a.arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    a.arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    a.arp_hlen = 6;
    a.arp_plen = 4;
    a.arp_opcode = rte_cpu_to_be_16(op);
    a.arp_data.arp_sha = sha;
    a.arp_data.arp_sip = rte_cpu_to_be_32(sip);
    a.arp_data.arp_tha = tha;
    a.arp_data.arp_tip = rte_cpu_to_be_32(tip);
    put_bytes(f, &a, sizeof(a));
    return f;
}

rte_mbuf* to_mbuf(rte_mempool* mp, const std::vector<uint8_t>& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(mp);
    if (m == nullptr) return nullptr;
    char* d = rte_pktmbuf_append(m, uint16_t(bytes.size()));
    if (d == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memcpy(d, bytes.data(), bytes.size());
    return m;
}

Out parse_out(const rte_mbuf* m) {
    Out o;
    const auto* base = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(base);
    o.eth_src = eth->src_addr;
    o.eth_dst = eth->dst_addr;
    o.frame_len = rte_pktmbuf_pkt_len(m);
    o.ether_type = rte_be_to_cpu_16(eth->ether_type);
    if (o.ether_type == RTE_ETHER_TYPE_ARP) {
        const auto* a = reinterpret_cast<const rte_arp_hdr*>(eth + 1);
        o.arp_op = rte_be_to_cpu_16(a->arp_opcode);
        o.arp_sha = a->arp_data.arp_sha;
        o.arp_tha = a->arp_data.arp_tha;
        o.arp_sip = rte_be_to_cpu_32(a->arp_data.arp_sip);
        o.arp_tip = rte_be_to_cpu_32(a->arp_data.arp_tip);
        return o;
    }
    if (o.ether_type != RTE_ETHER_TYPE_IPV4) return o;
    const auto* iph = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
    const size_t ihl = (iph->version_ihl & 0xf) * 4u;
    const uint16_t total = rte_be_to_cpu_16(iph->total_length);
    o.src = rte_be_to_cpu_32(iph->src_addr);
    o.dst = rte_be_to_cpu_32(iph->dst_addr);
    o.proto = iph->next_proto_id;
    o.ttl = iph->time_to_live;
    o.ip_csum_ok = net::csum_fold(net::csum_partial(iph, ihl)) == 0xffff;
    const auto* l4 = reinterpret_cast<const uint8_t*>(iph) + ihl;
    const size_t l4_len = total - ihl;
    o.l4_bytes.assign(l4, l4 + l4_len);
    if (o.proto == 6) {
        const auto* t = reinterpret_cast<const rte_tcp_hdr*>(l4);
        o.sport = rte_be_to_cpu_16(t->src_port);
        o.dport = rte_be_to_cpu_16(t->dst_port);
        o.tcp_flags = t->tcp_flags;
        o.seq = rte_be_to_cpu_32(t->sent_seq);
        o.ack = rte_be_to_cpu_32(t->recv_ack);
        o.l4_csum_ok = net::csum_fold(net::csum_partial(l4, l4_len, pseudo_sum(iph->src_addr, iph->dst_addr, 6, uint16_t(l4_len)))) == 0xffff;
    } else if (o.proto == 17) {
        const auto* u = reinterpret_cast<const rte_udp_hdr*>(l4);
        o.sport = rte_be_to_cpu_16(u->src_port);
        o.dport = rte_be_to_cpu_16(u->dst_port);
        o.l4_csum_ok = u->dgram_cksum == 0 ||
                       net::csum_fold(net::csum_partial(l4, l4_len, pseudo_sum(iph->src_addr, iph->dst_addr, 17, uint16_t(l4_len)))) == 0xffff;
    } else if (o.proto == 1) {
        const auto* c = reinterpret_cast<const rte_icmp_hdr*>(l4);
        o.icmp_type = c->icmp_type;
        o.icmp_code = c->icmp_code;
        o.sport = o.dport = rte_be_to_cpu_16(c->icmp_ident);
        o.l4_csum_ok = net::csum_fold(net::csum_partial(l4, l4_len)) == 0xffff;
    }
    return o;
}

std::string mac_str(const rte_ether_addr& a) {
    char b[18];
    std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", a.addr_bytes[0], a.addr_bytes[1], a.addr_bytes[2],
                  a.addr_bytes[3], a.addr_bytes[4], a.addr_bytes[5]);
    return b;
}

void put_bytes(std::vector<uint8_t>& v, const void* p, size_t n) {
    const size_t at = v.size();
    v.resize(at + n);
    if (n != 0) std::memcpy(v.data() + at, p, n);
}

}  // namespace nfgate::test

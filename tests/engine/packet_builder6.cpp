#include "tests/engine/packet_builder6.hpp"

#include <arpa/inet.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/engine/packet_builder.hpp"

namespace nfgate::test {

net::Ip6Addr ip6(const char* text) {
    net::Ip6Addr a;
    if (inet_pton(AF_INET6, text, a.b.data()) != 1) {
        std::fprintf(stderr, "packet_builder6: bad address literal %s\n", text);
        std::abort();
    }
    return a;
}

namespace {

// Options area of 8 * (1 + len8) - 2 bytes as one PadN option (RFC 8200 4.2), or Pad1 for 1.
Ext6 options_header(uint8_t kind, uint8_t len8) {
    Ext6 e;
    e.kind = kind;
    e.bytes.assign(8u * (1u + len8), 0);
    e.bytes[1] = len8;
    e.bytes[2] = 1;  // PadN
    e.bytes[3] = static_cast<uint8_t>(e.bytes.size() - 4);
    return e;
}

}  // namespace

Ext6 Ext6::hop_by_hop(uint8_t len8) { return options_header(0, len8); }
Ext6 Ext6::dst_opts(uint8_t len8) { return options_header(60, len8); }

Ext6 Ext6::routing(uint8_t type, uint8_t segments_left, uint8_t addresses) {
    Ext6 e;
    e.kind = 43;
    e.bytes.assign(8u + 16u * addresses, 0);
    e.bytes[1] = static_cast<uint8_t>(2 * addresses);
    e.bytes[2] = type;
    e.bytes[3] = segments_left;
    for (size_t i = 8; i < e.bytes.size(); ++i) e.bytes[i] = static_cast<uint8_t>(0x20 + i);
    return e;
}

Ext6 Ext6::fragment(uint16_t offset8, bool more, uint32_t id) {
    Ext6 e;
    e.kind = 44;
    e.bytes.assign(8, 0);
    const uint16_t data = static_cast<uint16_t>(offset8 << 3 | (more ? 1 : 0));
    e.bytes[2] = static_cast<uint8_t>(data >> 8);
    e.bytes[3] = static_cast<uint8_t>(data);
    e.bytes[4] = static_cast<uint8_t>(id >> 24);
    e.bytes[5] = static_cast<uint8_t>(id >> 16);
    e.bytes[6] = static_cast<uint8_t>(id >> 8);
    e.bytes[7] = static_cast<uint8_t>(id);
    return e;
}

Pkt6 Pkt6::tcp(const char* s, uint16_t sp, const char* d, uint16_t dp, uint8_t flags) {
    Pkt6 p;
    p.src = ip6(s);
    p.dst = ip6(d);
    p.sport = sp;
    p.dport = dp;
    p.tcp_flags = flags;
    return p;
}

Pkt6 Pkt6::udp(const char* s, uint16_t sp, const char* d, uint16_t dp) {
    Pkt6 p = tcp(s, sp, d, dp);
    p.proto = 17;
    p.payload = {'p', 'i', 'n', 'g'};
    return p;
}

Pkt6 Pkt6::echo(const char* s, const char* d, uint16_t id) {
    Pkt6 p = tcp(s, id, d, id);
    p.proto = 58;
    p.payload = {1, 2, 3, 4, 5, 6, 7, 8};
    return p;
}

uint16_t reference_l4_checksum6(const net::Ip6Addr& src, const net::Ip6Addr& dst, uint8_t proto, const uint8_t* l4,
                                size_t len) {
    std::vector<uint8_t> all(src.b.begin(), src.b.end());
    all.insert(all.end(), dst.b.begin(), dst.b.end());
    const uint8_t tail[8] = {uint8_t(len >> 24), uint8_t(len >> 16), uint8_t(len >> 8), uint8_t(len), 0, 0, 0, proto};
    all.insert(all.end(), tail, tail + 8);
    all.insert(all.end(), l4, l4 + len);
    if (all.size() % 2) all.push_back(0);
    uint64_t sum = 0;
    for (size_t i = 0; i < all.size(); i += 2) sum += uint32_t(all[i]) << 8 | all[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const uint16_t host = static_cast<uint16_t>(~sum);
    return rte_cpu_to_be_16(host);
}

std::vector<uint8_t> serialize6(const Pkt6& p) {
    std::vector<uint8_t> l4;
    if (p.l4_header && p.proto == 6) {
        rte_tcp_hdr t{};
        t.src_port = rte_cpu_to_be_16(p.sport);
        t.dst_port = rte_cpu_to_be_16(p.dport);
        t.sent_seq = rte_cpu_to_be_32(p.seq);
        t.recv_ack = rte_cpu_to_be_32(p.ack);
        t.data_off = static_cast<uint8_t>((5 + p.tcp_options.size() / 4) << 4);
        t.tcp_flags = p.tcp_flags;
        t.rx_win = rte_cpu_to_be_16(65535);
        put_bytes(l4, &t, sizeof t);
        put_bytes(l4, p.tcp_options.data(), p.tcp_options.size());
    } else if (p.l4_header && p.proto == 17) {
        rte_udp_hdr u{};
        u.src_port = rte_cpu_to_be_16(p.sport);
        u.dst_port = rte_cpu_to_be_16(p.dport);
        u.dgram_len = rte_cpu_to_be_16(uint16_t(sizeof u + p.payload.size()));
        put_bytes(l4, &u, sizeof u);
    } else if (p.l4_header && p.proto == 58) {
        rte_icmp_hdr c{};
        c.icmp_type = p.icmp_type;
        c.icmp_code = p.icmp_code;
        c.icmp_ident = rte_cpu_to_be_16(p.sport);
        c.icmp_seq_nb = rte_cpu_to_be_16(1);
        put_bytes(l4, &c, sizeof c);
    }
    const size_t hdr_len = l4.size();
    put_bytes(l4, p.payload.data(), p.payload.size());
    if (p.l4_header && (p.proto == 6 || p.proto == 17 || p.proto == 58)) {
        uint16_t c = reference_l4_checksum6(p.src, p.dst, p.proto, l4.data(), l4.size());
        if (p.proto == 17) c = !p.udp_csum ? 0 : c == 0 ? 0xffff : c;
        const size_t at = p.proto == 6 ? 16 : p.proto == 17 ? 6 : 2;
        if (hdr_len > at) std::memcpy(l4.data() + at, &c, 2);
    }

    std::vector<uint8_t> chain;
    for (size_t i = 0; i < p.ext.size(); ++i) {
        std::vector<uint8_t> h = p.ext[i].bytes;
        h[0] = i + 1 < p.ext.size() ? p.ext[i + 1].kind : p.proto;
        put_bytes(chain, h.data(), h.size());
    }

    std::vector<uint8_t> f;
    rte_ether_hdr eth{};
    eth.dst_addr = p.eth_dst;
    eth.src_addr = p.eth_src;
    eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    put_bytes(f, &eth, sizeof eth);
    rte_ipv6_hdr ip{};
    ip.vtc_flow = rte_cpu_to_be_32(uint32_t(p.version) << 28);
    ip.payload_len = rte_cpu_to_be_16(uint16_t(chain.size() + l4.size()));
    ip.proto = p.ext.empty() ? p.proto : p.ext[0].kind;
    ip.hop_limits = p.hop_limit;
    std::memcpy(ip.src_addr, p.src.b.data(), 16);
    std::memcpy(ip.dst_addr, p.dst.b.data(), 16);
    put_bytes(f, &ip, sizeof ip);
    put_bytes(f, chain.data(), chain.size());
    put_bytes(f, l4.data(), l4.size());
    return f;
}

}  // namespace nfgate::test

// The TCP headers the gateway answers a segment with, for either family's answer builder
// (icmp_answer.cpp, icmp6_answer.cpp): a reset, as a closed port answers (RFC 793 3.4), and the
// SYN proxy's SYN-ACK carrying a cookie (syn_proxy.hpp).
#pragma once

#include <rte_byteorder.h>
#include <rte_tcp.h>

#include <cstdint>

#include "dataplane/net/protocols.hpp"

namespace nfgate::engine {

// `data_len`: the segment's bytes after its TCP header. "If the incoming segment has an ACK
// field, the reset takes its sequence number from the ACK field of the segment, otherwise the
// reset has sequence number zero and the ACK field is set to the sum of the sequence number and
// segment length" (SYN and FIN count one each). Checksum left zero.
inline rte_tcp_hdr tcp_reset_answering(const rte_tcp_hdr& in, uint32_t data_len) {
    rte_tcp_hdr rst{};
    rst.src_port = in.dst_port;
    rst.dst_port = in.src_port;
    if (in.tcp_flags & net::kTcpAck) {
        rst.sent_seq = in.recv_ack;
        rst.tcp_flags = net::kTcpRst;
    } else {
        const uint32_t len = data_len + ((in.tcp_flags & net::kTcpSyn) ? 1 : 0) + ((in.tcp_flags & net::kTcpFin) ? 1 : 0);
        rst.recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(in.sent_seq) + len);
        rst.tcp_flags = net::kTcpRst | net::kTcpAck;
    }
    rst.data_off = 5 << 4;
    return rst;
}

// The SYN-ACK answering SYN `in` with initial sequence `cookie` and one MSS option: 24 bytes,
// checksum left zero. It offers no window scaling, SACK or timestamps: a cookie has no room to
// remember them.
struct CookieSynAck {
    rte_tcp_hdr tcp;
    uint8_t mss_option[4];
};
static_assert(sizeof(CookieSynAck) == 24);

inline CookieSynAck cookie_syn_ack_answering(const rte_tcp_hdr& in, uint32_t cookie, uint16_t mss) {
    CookieSynAck a{};
    a.tcp.src_port = in.dst_port;
    a.tcp.dst_port = in.src_port;
    a.tcp.sent_seq = rte_cpu_to_be_32(cookie);
    a.tcp.recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(in.sent_seq) + 1);
    a.tcp.data_off = 6 << 4;
    a.tcp.tcp_flags = net::kTcpSyn | net::kTcpAck;
    a.tcp.rx_win = RTE_BE16(65535);
    a.mss_option[0] = net::kTcpOptMss;
    a.mss_option[1] = 4;
    a.mss_option[2] = static_cast<uint8_t>(mss >> 8);
    a.mss_option[3] = static_cast<uint8_t>(mss);
    return a;
}

}  // namespace nfgate::engine

// The TCP header of a reset answering a segment, as a closed port answers it (RFC 793 3.4),
// for either family's answer builder (icmp_answer.cpp, icmp6_answer.cpp).
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

}  // namespace nfgate::engine

// Protocol numbers and TCP flag bits, as they sit in the packet: the one spelling conntrack,
// the engine and their tests use.
#pragma once

#include <cstdint>

namespace nfgate::net {

// IPv4 protocol field (IANA protocol numbers).
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

// ICMP types and codes (RFC 792) the gateway sends or reads.
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpParamProblem = 12;
inline constexpr uint8_t kIcmpCodePortUnreachable = 3;
inline constexpr uint8_t kIcmpCodeFragNeeded = 4;
inline constexpr uint8_t kIcmpCodeTtlExceeded = 0;

// TCP header flag bits (byte 13 of the header, RFC 9293 3.1).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;

// TCP option kinds (RFC 9293 3.2).
inline constexpr uint8_t kTcpOptEnd = 0;
inline constexpr uint8_t kTcpOptNop = 1;
inline constexpr uint8_t kTcpOptMss = 2;

// IPv6 Next Header values (IANA protocol numbers; RFC 8200 4 for the extension headers).
inline constexpr uint8_t kProtoHopOpts = 0;
inline constexpr uint8_t kProtoRouting = 43;
inline constexpr uint8_t kProtoFragment = 44;
inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoAh = 51;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoNoNext = 59;
inline constexpr uint8_t kProtoDstOpts = 60;

// ICMPv6 echo types (RFC 4443 4.1, 4.2): the identifier stands in for the ports, as for ICMP.
inline constexpr uint8_t kIcmp6EchoRequest = 128;
inline constexpr uint8_t kIcmp6EchoReply = 129;

}  // namespace nfgate::net

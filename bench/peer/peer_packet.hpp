// The peer benchmark's UDP test packet: one 60-byte Ethernet frame (64 on the wire with the FCS)
// per flow, built once before the run, and the checks the sink applies to what arrives.
#pragma once

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace nfgate::peer {

inline constexpr size_t kFrameLen = 60;
inline constexpr size_t kEthLen = 14;
inline constexpr size_t kIpLen = 20;
inline constexpr size_t kUdpLen = 8;
inline constexpr size_t kPayloadLen = kFrameLen - kEthLen - kIpLen - kUdpLen;
// First payload bytes of every test packet: the sink counts only frames that carry it, so
// stray traffic (ARP, the gateway's own packets) never inflates the result.
inline constexpr std::array<uint8_t, 8> kMarker{'n', 'f', 'g', 'p', 'e', 'e', 'r', '1'};

using Frame = std::array<uint8_t, kFrameLen>;
using Mac = std::array<uint8_t, 6>;

inline uint32_t parse_ipv4(const std::string& text) {
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1)
        throw std::invalid_argument("'" + text + "' is not an IPv4 address (expected a.b.c.d)");
    return a.s_addr;  // network order
}

inline Mac parse_mac(const std::string& text) {
    Mac m{};
    unsigned v[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        throw std::invalid_argument("'" + text + "' is not a MAC address (expected xx:xx:xx:xx:xx:xx)");
    for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
    return m;
}

inline Mac interface_mac(int fd, const std::string& ifname) {
    ifreq req{};
    std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFHWADDR, &req) != 0)
        throw std::runtime_error("interface '" + ifname + "': cannot read its MAC address");
    Mac m{};
    std::memcpy(m.data(), req.ifr_hwaddr.sa_data, 6);
    return m;
}

// One's-complement sum of 16-bit big-endian words, not yet folded.
inline uint32_t sum16(const uint8_t* p, size_t len, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < len; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (len & 1) acc += static_cast<uint32_t>(p[len - 1] << 8);
    return acc;
}

inline uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(acc);
}

// Sum of the UDP pseudo header, segment included; 0xffff when the segment is intact.
inline uint16_t udp_sum(const uint8_t* ip, const uint8_t* udp, size_t udp_len) {
    uint32_t acc = sum16(ip + 12, 8);  // source and destination address
    acc += 17 + static_cast<uint32_t>(udp_len);
    return fold(sum16(udp, udp_len, acc));
}

struct FlowSpec {
    Mac src_mac, dst_mac;
    uint32_t src_ip, dst_ip;  // network order
    uint16_t src_port, dst_port;  // host order
    uint32_t flow_index;
};

inline Frame build_udp_frame(const FlowSpec& f) {
    Frame fr{};
    uint8_t* p = fr.data();
    std::memcpy(p, f.dst_mac.data(), 6);
    std::memcpy(p + 6, f.src_mac.data(), 6);
    p[12] = 0x08;
    p[13] = 0x00;
    uint8_t* ip = p + kEthLen;
    ip[0] = 0x45;
    const uint16_t total = kIpLen + kUdpLen + kPayloadLen;
    ip[2] = total >> 8;
    ip[3] = total & 0xff;
    ip[6] = 0x40;  // DF: a gateway must never fragment these
    ip[8] = 64;
    ip[9] = 17;
    std::memcpy(ip + 12, &f.src_ip, 4);
    std::memcpy(ip + 16, &f.dst_ip, 4);
    const uint16_t ip_csum = static_cast<uint16_t>(~fold(sum16(ip, kIpLen)));
    ip[10] = ip_csum >> 8;
    ip[11] = ip_csum & 0xff;
    uint8_t* udp = ip + kIpLen;
    udp[0] = f.src_port >> 8;
    udp[1] = f.src_port & 0xff;
    udp[2] = f.dst_port >> 8;
    udp[3] = f.dst_port & 0xff;
    udp[5] = kUdpLen + kPayloadLen;
    uint8_t* payload = udp + kUdpLen;
    std::memcpy(payload, kMarker.data(), kMarker.size());
    std::memcpy(payload + kMarker.size(), &f.flow_index, sizeof f.flow_index);
    uint16_t udp_csum = static_cast<uint16_t>(~udp_sum(ip, udp, kUdpLen + kPayloadLen));
    if (udp_csum == 0) udp_csum = 0xffff;  // RFC 768: zero means "no checksum"
    udp[6] = udp_csum >> 8;
    udp[7] = udp_csum & 0xff;
    return fr;
}

}  // namespace nfgate::peer

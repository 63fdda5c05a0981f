// The memif generator's frames: templates patched per packet, the handshake replies built in
// place, and the checks applied to every frame the gateway forwards. Plain bytes, no EAL.
//
// Flow i of a run is the client (client_base + (i >> kPortBits), kPortBase + (i & mask)): a
// million flows are 256 addresses x 4096 ports behind one router, so the gateway resolves one
// next hop for every reply, as it would behind a real upstream router. A data frame carries
// its flow index in the payload, so the pod side checks that the source it sees is the one
// that flow was sent with.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/net/checksum.hpp"

namespace nfgate::memif {

using Mac = std::array<uint8_t, 6>;

inline constexpr size_t kEth = 14, kIp = 20, kUdp = 8, kTcp = 20;
// UDP: 60 bytes + FCS = 64 on the wire. TCP: 74 + FCS, a 20-byte payload after a bare header.
inline constexpr size_t kUdpFrame = 60, kTcpFrame = 74, kMinFrame = 60;
inline constexpr unsigned kPortBits = 12;
inline constexpr uint16_t kPortBase = 10000;
// First payload bytes of every data frame: anything else reaching the pods is not ours.
inline constexpr std::array<uint8_t, 8> kMarker{'n', 'f', 'g', 'm', 'e', 'm', 'i', 'f'};
inline constexpr size_t kMarkerOff = 0, kIndexOff = 8;  // within the L4 payload

inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
// Fixed initial sequence numbers: nfgate's tracker follows flags, not windows (tcp_state.hpp), and
// fixed values keep the data frames' checksums a template plus address/port deltas.
inline constexpr uint32_t kClientIsn = 0x10000000, kServerIsn = 0x5e000000;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
inline void put16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8); p[1] = static_cast<uint8_t>(v); }
inline void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}
// Raw 16-bit loads/stores in packet order, the form net::CsumDelta works in.
inline uint16_t raw16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline void set_raw16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline uint32_t raw32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

struct Endpoints {
    uint32_t client_base = 0;  // host order
    uint32_t flows = 0;
    uint32_t vip = 0;          // host order
    uint16_t vport = 0, target_port = 0;
    uint32_t snat = 0;         // expected source on the pod side when masqueraded; 0: the client
    std::array<uint64_t, 1024> pod_bits{};  // endpoint addresses by their low 16 bits

    void add_pod(uint32_t ip) { pod_bits[(ip & 0xffff) >> 6] |= uint64_t{1} << (ip & 63); }
    bool is_pod(uint32_t ip) const {
        return (ip & 0xffff0000u) == pod_prefix && (pod_bits[(ip & 0xffff) >> 6] >> (ip & 63) & 1);
    }
    uint32_t pod_prefix = 0;
};

inline uint32_t client_ip(const Endpoints& e, uint32_t i) { return e.client_base + (i >> kPortBits); }
inline uint16_t client_port(uint32_t i) { return static_cast<uint16_t>(kPortBase + (i & ((1u << kPortBits) - 1))); }

// A data or handshake frame for flow 0 with correct checksums; patch() turns it into flow i.
struct Template {
    std::array<uint8_t, 128> bytes{};
    uint16_t len = 0;
    uint8_t proto = 0;
    bool has_index = false;  // payload carries the flow index
    size_t l4 = kEth + kIp;

    // Writes flow i into `out` (len bytes): the template copied, then source address, source
    // port and payload index set with RFC 1624 updates of both checksums.
    void patch(uint8_t* out, uint32_t i, const Endpoints& e) const {
        std::memcpy(out, bytes.data(), len);
        const uint32_t ip = __builtin_bswap32(client_ip(e, i)), ip0 = raw32(bytes.data() + kEth + 12);
        const uint16_t port = __builtin_bswap16(client_port(i)), port0 = raw16(bytes.data() + l4);
        net::CsumDelta ipd;
        ipd.add32(ip0, ip);
        std::memcpy(out + kEth + 12, &ip, 4);
        set_raw16(out + kEth + 10, net::csum_apply(raw16(out + kEth + 10), ipd));
        net::CsumDelta l4d = ipd;
        l4d.add16(port0, port);
        set_raw16(out + l4, port);
        if (has_index) {
            const size_t at = l4 + (proto == 17 ? kUdp : kTcp) + kIndexOff;
            const uint32_t idx = __builtin_bswap32(i);
            l4d.add32(raw32(bytes.data() + at), idx);
            std::memcpy(out + at, &idx, 4);
        }
        const size_t csum_at = l4 + (proto == 17 ? 6 : 16);
        const uint16_t c = raw16(out + csum_at);
        set_raw16(out + csum_at, proto == 17 ? net::udp_csum_apply(c, l4d) : net::csum_apply(c, l4d));
    }
};

// UDP data frame to vip:vport, or TCP with `flags` (a payload only with PSH).
Template make_template(uint8_t proto, uint8_t flags, const Mac& src, const Mac& dst, const Endpoints& e);

// Recomputes the IPv4 header checksum and the TCP/UDP checksum of a frame from scratch.
void fill_checksums(uint8_t* frame);

// What a frame seen on the pods' side was.
enum class PodFrame : uint8_t { data, syn, ack, rst, fin, arp, bad, other };

struct PodCheck {
    PodFrame kind = PodFrame::other;
    const char* why = nullptr;  // for bad: the first check that failed
};

// The full check of a frame the gateway forwarded to a pod: L2 addresses, IPv4 header and its
// checksum, TTL decremented once, destination a ready endpoint at the target port, the L4
// checksum, and the source the flow was sent with (or the SNAT address).
PodCheck check_pod_frame(const uint8_t* f, uint32_t len, const Mac& own, const Mac& gw, const Endpoints& e,
                         uint8_t proto);

// A SYN-ACK from the pod that received `f` (a SYN, rewritten in place); returns the frame length.
uint32_t make_syn_ack(uint8_t* f, const Mac& own, const Mac& gw);

// On the client side: is `f` the gateway's SYN-ACK from vip:vport to one of our clients?
bool is_client_syn_ack(const uint8_t* f, uint32_t len, const Mac& own, const Endpoints& e);
// Turns that SYN-ACK into the client's completing segment with `flags` (ACK, or RST|ACK), in place.
uint32_t make_client_reply(uint8_t* f, const Mac& own, const Mac& gw, uint8_t flags);

// An ARP request for any address but the gateway's own: answered in place from `own`.
bool is_arp_request(const uint8_t* f, uint32_t len, uint32_t gateway_ip);
uint32_t make_arp_reply(uint8_t* f, const Mac& own);

}  // namespace nfgate::memif

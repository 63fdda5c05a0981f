#include "bench/memif/memif_frames.hpp"

#include <utility>

namespace nfgate::memif {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherArp = 0x0806;
constexpr uint8_t kTtl = 64;

uint16_t l4_len(const uint8_t* f) { return static_cast<uint16_t>(be16(f + kEth + 2) - kIp); }

// Sum of the pseudo header (RFC 768 / RFC 793) and the segment; 0xffff when intact.
uint16_t l4_sum(const uint8_t* f) {
    const uint16_t n = l4_len(f);
    uint32_t s = net::csum_partial(f + kEth + 12, 8);
    s += __builtin_bswap16(static_cast<uint16_t>(f[kEth + 9]));
    s += __builtin_bswap16(n);
    return net::csum_fold(net::csum_partial(f + kEth + kIp, n, s));
}

void swap_bytes(uint8_t* a, uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; ++i) std::swap(a[i], b[i]);
}

// Both directions of a handshake reply: addresses and ports swapped, MACs set.
void turn_around(uint8_t* f, const Mac& own, const Mac& gw) {
    std::memcpy(f, gw.data(), 6);
    std::memcpy(f + 6, own.data(), 6);
    swap_bytes(f + kEth + 12, f + kEth + 16, 4);
    swap_bytes(f + kEth + kIp, f + kEth + kIp + 2, 2);
    f[kEth + 8] = kTtl;
}

// A bare TCP segment (no options, no payload), padded to the minimum frame.
uint32_t finish_bare_tcp(uint8_t* f, uint32_t seq, uint32_t ack, uint8_t flags) {
    uint8_t* t = f + kEth + kIp;
    put16(f + kEth + 2, kIp + kTcp);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    put16(t + 18, 0);
    std::memset(f + kEth + kIp + kTcp, 0, kMinFrame - (kEth + kIp + kTcp));
    fill_checksums(f);
    return kMinFrame;
}

}  // namespace

Template make_template(uint8_t proto, uint8_t flags, const Mac& src, const Mac& dst, const Endpoints& e) {
    Template t;
    t.proto = proto;
    uint8_t* f = t.bytes.data();
    const bool data = proto == 17 || (flags & kPsh);
    t.has_index = data;
    const size_t l4_hdr = proto == 17 ? kUdp : kTcp;
    const size_t frame = proto == 17 ? kUdpFrame : (data ? kTcpFrame : kMinFrame);
    const size_t ip_total = data ? frame - kEth : kIp + l4_hdr;
    t.len = static_cast<uint16_t>(frame);
    std::memcpy(f, dst.data(), 6);
    std::memcpy(f + 6, src.data(), 6);
    put16(f + 12, kEtherIpv4);
    uint8_t* ip = f + kEth;
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(ip_total));
    put16(ip + 6, 0x4000);  // DF
    ip[8] = kTtl;
    ip[9] = proto;
    put32(ip + 12, client_ip(e, 0));
    put32(ip + 16, e.vip);
    uint8_t* l4 = ip + kIp;
    put16(l4, client_port(0));
    put16(l4 + 2, e.vport);
    if (proto == 17) {
        put16(l4 + 4, static_cast<uint16_t>(ip_total - kIp));
    } else {
        put32(l4 + 4, flags & kSyn ? kClientIsn : kClientIsn + 1);
        put32(l4 + 8, flags & kAck ? kServerIsn + 1 : 0);
        l4[12] = 5 << 4;
        l4[13] = flags;
        put16(l4 + 14, 65535);
    }
    if (data) {
        uint8_t* payload = l4 + l4_hdr;
        std::memcpy(payload + kMarkerOff, kMarker.data(), kMarker.size());
        put32(payload + kIndexOff, 0);
    }
    fill_checksums(f);
    return t;
}

void fill_checksums(uint8_t* f) {
    uint8_t* ip = f + kEth;
    put16(ip + 10, 0);
    set_raw16(ip + 10, net::csum_finish(net::csum_partial(ip, kIp)));
    const size_t at = kEth + kIp + (ip[9] == 17 ? 6 : 16);
    put16(f + at, 0);
    uint16_t c = static_cast<uint16_t>(~l4_sum(f));
    if (ip[9] == 17 && c == 0) c = 0xffff;
    set_raw16(f + at, c);
}

PodCheck check_pod_frame(const uint8_t* f, uint32_t len, const Mac& own, const Mac& gw, const Endpoints& e,
                         uint8_t proto) {
    auto bad = [](const char* why) { return PodCheck{PodFrame::bad, why}; };
    if (len >= kEth && be16(f + 12) == kEtherArp) return {PodFrame::arp, nullptr};
    if (len < kEth + kIp + kUdp) return bad("runt frame");
    if (be16(f + 12) != kEtherIpv4) return {PodFrame::other, nullptr};
    if (std::memcmp(f, own.data(), 6) != 0 || std::memcmp(f + 6, gw.data(), 6) != 0) return bad("MAC addresses");
    const uint8_t* ip = f + kEth;
    if (ip[0] != 0x45) return bad("IPv4 version/header length");
    if (be16(ip + 2) + kEth > len || be16(ip + 2) < kIp + kUdp) return bad("IPv4 total length");
    if (net::csum_fold(net::csum_partial(ip, kIp)) != 0xffff) return bad("IPv4 header checksum");
    if (ip[8] != kTtl - 1) return bad("TTL not decremented once");
    if (ip[9] != proto) return bad("protocol");
    const uint32_t dst = be32(ip + 16), src = be32(ip + 12);
    if (!e.is_pod(dst)) return bad("destination not a ready endpoint");
    const uint8_t* l4 = ip + kIp;
    if (be16(l4 + 2) != e.target_port) return bad("destination port not the targetPort");
    if (l4_sum(f) != 0xffff) return bad(proto == 17 ? "UDP checksum" : "TCP checksum");
    const uint32_t sport = be16(l4);
    PodFrame kind = PodFrame::data;
    size_t l4_hdr = kUdp;
    if (proto == 6) {
        l4_hdr = static_cast<size_t>(l4[12] >> 4) * 4;
        const uint8_t fl = l4[13];
        if (fl & kRst) kind = PodFrame::rst;
        else if (fl & kSyn) kind = PodFrame::syn;
        else if (fl & kFin) kind = PodFrame::fin;
        else if (!(fl & kPsh)) kind = PodFrame::ack;
    }
    // The source: the SNAT address (any port) when masqueraded, else the flow's own client.
    uint32_t index = 0;
    if (e.snat != 0) {
        if (src != e.snat) return bad("source not the SNAT address");
    } else {
        if (src < e.client_base || sport < kPortBase || sport >= kPortBase + (1u << kPortBits))
            return bad("source not a client of this run");
        index = (src - e.client_base) << kPortBits | (sport - kPortBase);
    }
    if (kind == PodFrame::data) {
        const uint8_t* payload = l4 + l4_hdr;
        if (be16(ip + 2) < kIp + l4_hdr + kIndexOff + 4 ||
            std::memcmp(payload + kMarkerOff, kMarker.data(), kMarker.size()) != 0)
            return bad("payload marker");
        const uint32_t sent = be32(payload + kIndexOff);
        if (sent >= e.flows) return bad("flow index out of range");
        if (e.snat == 0 && sent != index) return bad("source not the one its flow was sent with");
    }
    return {kind, nullptr};
}

uint32_t make_syn_ack(uint8_t* f, const Mac& own, const Mac& gw) {
    const uint32_t client_seq = be32(f + kEth + kIp + 4);
    turn_around(f, own, gw);
    return finish_bare_tcp(f, kServerIsn, client_seq + 1, kSyn | kAck);
}

bool is_client_syn_ack(const uint8_t* f, uint32_t len, const Mac& own, const Endpoints& e) {
    if (len < kEth + kIp + kTcp || be16(f + 12) != kEtherIpv4 || std::memcmp(f, own.data(), 6) != 0) return false;
    const uint8_t* ip = f + kEth;
    if (ip[0] != 0x45 || ip[9] != 6 || be32(ip + 12) != e.vip) return false;
    const uint8_t* t = ip + kIp;
    return be16(t) == e.vport && (t[13] & (kSyn | kAck | kRst)) == (kSyn | kAck);
}

uint32_t make_client_reply(uint8_t* f, const Mac& own, const Mac& gw, uint8_t flags) {
    const uint8_t* t = f + kEth + kIp;
    const uint32_t seq = be32(t + 8), ack = be32(t + 4) + 1;
    turn_around(f, own, gw);
    return finish_bare_tcp(f, seq, ack, flags);
}

bool is_arp_request(const uint8_t* f, uint32_t len, uint32_t gateway_ip) {
    if (len < kEth + 28 || be16(f + 12) != kEtherArp) return false;
    const uint8_t* a = f + kEth;
    return be16(a) == 1 && be16(a + 2) == kEtherIpv4 && be16(a + 6) == 1 && be32(a + 24) != gateway_ip;
}

uint32_t make_arp_reply(uint8_t* f, const Mac& own) {
    uint8_t* a = f + kEth;
    std::memcpy(f, a + 8, 6);  // to the asker
    std::memcpy(f + 6, own.data(), 6);
    put16(a + 6, 2);
    uint8_t target_ip[4];
    std::memcpy(target_ip, a + 24, 4);
    std::memcpy(a + 18, a + 8, 10);  // sender MAC + IP become the target's
    std::memcpy(a + 8, own.data(), 6);
    std::memcpy(a + 14, target_ip, 4);
    return kMinFrame;
}

}  // namespace nfgate::memif

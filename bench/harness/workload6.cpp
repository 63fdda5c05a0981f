#include "bench/harness/workload6.hpp"

#include <algorithm>

namespace nfgate::bench {

bool net6::is_backend(const Ip6& ip) {
    const Ip6 first = backend(0);
    if (!std::equal(ip.b.begin(), ip.b.begin() + 14, first.b.begin())) return false;
    const unsigned low = static_cast<unsigned>(ip[14]) << 8 | ip[15];
    return low >= 1 && low <= net::kBackends;
}

namespace {

using net::kBackendPort;
using net::kExt;
using net::kPods;
using net::kVipPort;
using namespace net6;

// Clients sit behind the router in 2001:db8:c0::/48, 1024 ports per address as for IPv4, so
// the two families see the same flow counts per client. Interface identifiers start at 1: an
// all-zero one is the subnet's router anycast address (RFC 4291 2.6.1).
Ip6 client_ip(unsigned space, unsigned worker, uint32_t i) {
    const uint32_t id = (i >> 10) + 1;
    return ip6_of(0x2001, 0xdb8, 0xc0, static_cast<uint16_t>(space), static_cast<uint16_t>(worker), 0,
                  static_cast<uint16_t>(id >> 16), static_cast<uint16_t>(id));
}
uint16_t client_port(uint32_t i) { return static_cast<uint16_t>(20000 + (i & 1023)); }

FrameSpec6 from_client(const Ip6& client, uint16_t cport, const Ip6& vip, uint8_t flags) {
    FrameSpec6 s;
    s.src_mac = neighbour_mac6(kRouter);
    s.src = client;
    s.sport = cport;
    s.dst = vip;
    s.dport = kVipPort;
    s.tcp_flags = flags;
    return s;
}

FrameSpec6 from_backend(const Ip6& backend, const Ip6& client, uint16_t cport, uint8_t flags) {
    FrameSpec6 s;
    s.src_mac = neighbour_mac6(backend);
    s.src = backend;
    s.sport = kBackendPort;
    s.dst = client;
    s.dport = cport;
    s.tcp_flags = flags;
    return s;
}

// The client's packet after NAT66 to the endpoint (ETP Local keeps the client address).
Expect6 to_backend(const Ip6& client, uint16_t cport, const Ip6& backend, uint8_t flags) {
    return Expect6{client, backend, cport, kBackendPort, backend, kTcp, flags, kPods, Check::exact};
}

// The backend's packet after the reverse translation, toward the router.
Expect6 to_client(const Ip6& client, uint16_t cport, const Ip6& vip, uint8_t flags) {
    return Expect6{vip, client, kVipPort, cport, kRouter, kTcp, flags, kExt, Check::exact};
}

}  // namespace

uint32_t Workload::add6(FrameSpec6 spec, const Expect6& e) {
    const uint32_t tag = size();
    spec.tag = tag;
    offset.push_back(static_cast<uint32_t>(arena.size()));
    length.push_back(spec.frame_len);
    arena.resize(arena.size() + spec.frame_len);
    build_frame6(spec, arena.data() + offset.back());
    expect6.push_back(e);
    bytes += spec.frame_len;
    return tag;
}

std::vector<Flow6> make_flows6(uint32_t count, unsigned space, unsigned worker) {
    std::vector<Flow6> flows(count);
    for (uint32_t i = 0; i < count; ++i) flows[i] = {client_ip(space, worker, i), client_port(i), Ip6{}};
    return flows;
}

Workload handshake_syn6(const std::vector<Flow6>& flows, unsigned burst) {
    Workload w;
    for (const Flow6& f : flows) {
        Expect6 e{f.client, Ip6{}, f.cport, kBackendPort, Ip6{}, kTcp, kSyn, kPods, Check::any_backend};
        w.add6(from_client(f.client, f.cport, kLbVip, kSyn), e);
    }
    w.close_bursts(0, kExt, burst);
    return w;
}

Workload handshake_synack6(const std::vector<Flow6>& flows, unsigned burst) {
    Workload w;
    for (const Flow6& f : flows)
        w.add6(from_backend(f.backend, f.client, f.cport, kSyn | kAck), to_client(f.client, f.cport, kLbVip, kSyn | kAck));
    w.close_bursts(0, kPods, burst);
    return w;
}

Workload handshake_ack6(const std::vector<Flow6>& flows, unsigned burst) {
    Workload w;
    for (const Flow6& f : flows)
        w.add6(from_client(f.client, f.cport, kLbVip, kAck), to_backend(f.client, f.cport, f.backend, kAck));
    w.close_bursts(0, kExt, burst);
    return w;
}

Workload established6(const std::vector<Flow6>& flows, unsigned burst, std::mt19937_64& rng) {
    std::vector<uint32_t> order(flows.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    Workload w;
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t i : order) {
        const Flow6& f = flows[i];
        w.add6(from_client(f.client, f.cport, kLbVip, kAck), to_backend(f.client, f.cport, f.backend, kAck));
    }
    const uint32_t replies = w.size();
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t i : order) {
        const Flow6& f = flows[i];
        w.add6(from_backend(f.backend, f.client, f.cport, kAck), to_client(f.client, f.cport, kLbVip, kAck));
    }
    for (uint32_t b = 0; b < replies; b += burst) {
        const uint32_t n = std::min<uint32_t>(burst, replies - b);
        w.bursts.push_back({kExt, b, n});
        w.bursts.push_back({kPods, replies + b, n});
    }
    return w;
}

Workload connection_storm6(uint32_t conns, unsigned space, unsigned worker, unsigned burst) {
    Workload w;
    struct Step {
        bool client_side;
        uint8_t flags;
    };
    constexpr Step kSteps[] = {{true, kSyn},         {false, kSyn | kAck}, {true, kAck},
                               {true, kFin | kAck},  {false, kFin | kAck}, {true, kAck}};
    for (uint32_t wave = 0; wave < conns; wave += burst) {
        const uint32_t n = std::min<uint32_t>(burst, conns - wave);
        for (const Step& st : kSteps) {
            const uint32_t first = w.size();
            for (uint32_t c = wave; c < wave + n; ++c) {
                const Ip6 client = client_ip(space, worker, c);
                const uint16_t cport = client_port(c);
                if (st.client_side)
                    w.add6(from_client(client, cport, kStormVip, st.flags), to_backend(client, cport, kStormBackend, st.flags));
                else
                    w.add6(from_backend(kStormBackend, client, cport, st.flags), to_client(client, cport, kStormVip, st.flags));
            }
            w.bursts.push_back({st.client_side ? kExt : kPods, first, n});
        }
    }
    w.connections = conns;
    return w;
}

}  // namespace nfgate::bench

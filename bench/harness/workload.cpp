#include "bench/harness/workload.hpp"

#include <algorithm>

namespace nfgate::bench {

namespace {

using namespace net;

// Clients sit behind the router in 100.64.0.0/10: 1024 ports per address.
uint32_t client_ip(unsigned space, unsigned worker, uint32_t i) {
    return 0x64400000u + (space << 18) + (worker << 16) + (i >> 10);
}
uint16_t client_port(uint32_t i) { return static_cast<uint16_t>(20000 + (i & 1023)); }

FrameSpec from_client(uint32_t client, uint16_t cport, uint32_t vip, uint8_t flags) {
    FrameSpec s;
    s.src_mac = neighbour_mac(kRouter);
    s.src = client;
    s.sport = cport;
    s.dst = vip;
    s.dport = kVipPort;
    s.tcp_flags = flags;
    return s;
}

FrameSpec from_backend(uint32_t backend, uint32_t client, uint16_t cport, uint8_t flags) {
    FrameSpec s;
    s.src_mac = neighbour_mac(backend);
    s.src = backend;
    s.sport = kBackendPort;
    s.dst = client;
    s.dport = cport;
    s.tcp_flags = flags;
    return s;
}

// The client's packet after DNAT (ETP Local keeps the client address).
Expect to_backend(uint32_t client, uint16_t cport, uint32_t backend, uint8_t flags) {
    return Expect{client, backend, cport, kBackendPort, backend, kTcp, flags, kPods, Check::exact};
}

// The backend's packet after the reverse translation, toward the router.
Expect to_client(uint32_t client, uint16_t cport, uint32_t vip, uint8_t flags) {
    return Expect{vip, client, kVipPort, cport, kRouter, kTcp, flags, kExt, Check::exact};
}

}  // namespace

uint32_t Workload::add(FrameSpec spec, const Expect& e) {
    const uint32_t tag = size();
    spec.tag = tag;
    offset.push_back(static_cast<uint32_t>(arena.size()));
    length.push_back(spec.frame_len);
    arena.resize(arena.size() + spec.frame_len);
    build_frame(spec, arena.data() + offset.back());
    expect.push_back(e);
    bytes += spec.frame_len;
    return tag;
}

void Workload::close_bursts(uint32_t first, uint16_t port, unsigned burst) {
    for (uint32_t b = first; b < size(); b += burst)
        bursts.push_back({port, b, std::min<uint32_t>(burst, size() - b)});
}

std::vector<Flow> make_flows(uint32_t count, unsigned space, unsigned worker) {
    std::vector<Flow> flows(count);
    for (uint32_t i = 0; i < count; ++i) flows[i] = {client_ip(space, worker, i), client_port(i), 0};
    return flows;
}

Workload handshake_syn(const std::vector<Flow>& flows, unsigned burst) {
    Workload w;
    for (const Flow& f : flows) {
        Expect e{f.client, 0, f.cport, kBackendPort, 0, kTcp, kSyn, kPods, Check::any_backend};
        w.add(from_client(f.client, f.cport, kLbVip, kSyn), e);
    }
    w.close_bursts(0, kExt, burst);
    return w;
}

Workload handshake_synack(const std::vector<Flow>& flows, unsigned burst) {
    Workload w;
    for (const Flow& f : flows)
        w.add(from_backend(f.backend, f.client, f.cport, kSyn | kAck), to_client(f.client, f.cport, kLbVip, kSyn | kAck));
    w.close_bursts(0, kPods, burst);
    return w;
}

Workload handshake_ack(const std::vector<Flow>& flows, unsigned burst) {
    Workload w;
    for (const Flow& f : flows)
        w.add(from_client(f.client, f.cport, kLbVip, kAck), to_backend(f.client, f.cport, f.backend, kAck));
    w.close_bursts(0, kExt, burst);
    return w;
}

Workload established(const std::vector<Flow>& flows, unsigned burst, std::mt19937_64& rng) {
    std::vector<uint32_t> order(flows.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    Workload w;
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t i : order) {
        const Flow& f = flows[i];
        w.add(from_client(f.client, f.cport, kLbVip, kAck), to_backend(f.client, f.cport, f.backend, kAck));
    }
    const uint32_t replies = w.size();
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t i : order) {
        const Flow& f = flows[i];
        w.add(from_backend(f.backend, f.client, f.cport, kAck), to_client(f.client, f.cport, kLbVip, kAck));
    }
    // Interleave: one burst from the client side, one from the backend side.
    for (uint32_t b = 0; b < replies; b += burst) {
        const uint32_t n = std::min<uint32_t>(burst, replies - b);
        w.bursts.push_back({kExt, b, n});
        w.bursts.push_back({kPods, replies + b, n});
    }
    return w;
}

Workload connection_storm(uint32_t conns, unsigned space, unsigned worker, unsigned burst) {
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
                const uint32_t client = client_ip(space, worker, c);
                const uint16_t cport = client_port(c);
                if (st.client_side)
                    w.add(from_client(client, cport, kStormVip, st.flags), to_backend(client, cport, kStormBackend, st.flags));
                else
                    w.add(from_backend(kStormBackend, client, cport, st.flags), to_client(client, cport, kStormVip, st.flags));
            }
            w.bursts.push_back({st.client_side ? kExt : kPods, first, n});
        }
    }
    w.connections = conns;
    return w;
}

Workload mixed(const std::vector<Flow>& flows, uint32_t packets, unsigned space, unsigned worker, unsigned burst,
               std::mt19937_64& rng) {
    // IMIX 7:4:1, frame sizes without FCS.
    constexpr uint16_t kSizes[12] = {60, 60, 60, 60, 60, 60, 60, 590, 590, 590, 590, 1514};
    enum class Kind : uint8_t { syn, ping, orig, reply };
    struct Plan {
        Kind kind;
        uint32_t flow;
        uint16_t size;
    };
    std::uniform_int_distribution<uint32_t> pick_flow(0, static_cast<uint32_t>(flows.size() - 1));
    std::uniform_int_distribution<unsigned> percent(0, 99);
    std::vector<Plan> client_side, backend_side;
    for (uint32_t i = 0; i < packets; ++i) {
        const unsigned roll = percent(rng);
        const Kind k = roll < 5 ? Kind::syn : roll < 10 ? Kind::ping : roll < 55 ? Kind::orig : Kind::reply;
        Plan p{k, pick_flow(rng), kSizes[i % 12]};
        (k == Kind::reply ? backend_side : client_side).push_back(p);
    }
    Workload w;
    uint32_t fresh = 0;
    for (const Plan& p : client_side) {
        const Flow& f = flows[p.flow];
        FrameSpec s;
        Expect e;
        if (p.kind == Kind::syn) {
            const uint32_t client = client_ip(space, worker, fresh);
            const uint16_t cport = client_port(fresh++);
            s = from_client(client, cport, kLbVip, kSyn);
            e = Expect{client, 0, cport, kBackendPort, 0, kTcp, kSyn, kPods, Check::any_backend};
        } else if (p.kind == Kind::ping) {
            s.src_mac = neighbour_mac(kRouter);
            s.src = f.client;
            s.dst = kGwExt;
            s.proto = kIcmp;
            s.sport = static_cast<uint16_t>(w.size());
            e = Expect{kGwExt, f.client, s.sport, s.sport, kRouter, kIcmp, 0, kExt, Check::echo_reply};
        } else {
            s = from_client(f.client, f.cport, kLbVip, kAck);
            e = to_backend(f.client, f.cport, f.backend, kAck);
        }
        s.frame_len = p.size;
        w.add(s, e);
    }
    const uint32_t replies = w.size();
    for (const Plan& p : backend_side) {
        const Flow& f = flows[p.flow];
        FrameSpec s = from_backend(f.backend, f.client, f.cport, kAck);
        s.frame_len = p.size;
        w.add(s, to_client(f.client, f.cport, kLbVip, kAck));
    }
    // Alternate bursts from the two sides until both are used up.
    uint32_t a = 0, b = replies;
    while (a < replies || b < w.size()) {
        if (a < replies) {
            const uint32_t n = std::min<uint32_t>(burst, replies - a);
            w.bursts.push_back({kExt, a, n});
            a += n;
        }
        if (b < w.size()) {
            const uint32_t n = std::min<uint32_t>(burst, w.size() - b);
            w.bursts.push_back({kPods, b, n});
            b += n;
        }
    }
    return w;
}

}  // namespace nfgate::bench

// Pre-built traffic for the throughput harness: frames in one arena, the order they are fed in
// (bursts from one port each, as a NIC queue delivers them) and, per tag, what must come out.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "bench/harness/frames.hpp"
#include "bench/harness/frames6.hpp"
#include "model/ip6.hpp"

namespace nfgate::bench {

// The harness's network (the Model in throughput_main.cpp is built from the same constants).
namespace net {
inline constexpr uint16_t kExt = 0, kPods = 1;  // interface indices
inline constexpr uint32_t kGwExt = 0xc0000201;   // 192.0.2.1/24
inline constexpr uint32_t kGwPods = 0x0af40001;  // 10.244.0.1/16
inline constexpr uint32_t kRouter = 0xc00002fe;  // 192.0.2.254: default route, clients behind it
inline constexpr uint32_t kLbVip = 0xc6120001;   // 198.18.0.1:80, 16 endpoints, ETP Local
inline constexpr uint32_t kStormVip = 0xc6120002;  // 198.18.0.2:80, one endpoint, ETP Local
inline constexpr uint16_t kVipPort = 80;
inline constexpr uint32_t kBackendBase = 0x0af40101;  // 10.244.1.1 .. +15, port 8080
inline constexpr unsigned kBackends = 16;
inline constexpr uint32_t kStormBackend = 0x0af40201;  // 10.244.2.1:8080
inline constexpr uint16_t kBackendPort = 8080;
}  // namespace net

enum class Check : uint8_t {
    exact,        // every field below
    any_backend,  // new flow: dst is one of the LB's endpoints on kBackendPort, src unchanged
    echo_reply,   // the gateway answered a ping
};

struct Expect {
    uint32_t src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;
    uint32_t next_hop = 0;  // the frame must go to neighbour_mac(next_hop)
    uint8_t proto = kTcp;
    uint8_t tcp_flags = 0;
    uint8_t out_port = 0;
    Check check = Check::exact;
};

// The same for an IPv6 frame (workload6.hpp builds them).
struct Expect6 {
    Ip6 src, dst;
    uint16_t sport = 0, dport = 0;
    Ip6 next_hop;  // the frame must go to neighbour_mac6(next_hop)
    uint8_t proto = kTcp;
    uint8_t tcp_flags = 0;
    uint8_t out_port = 0;
    Check check = Check::exact;
};

struct Burst {
    uint16_t port;
    uint32_t first, count;  // range of Workload::packets
};

struct Workload {
    std::vector<uint8_t> arena;
    std::vector<uint32_t> offset;  // per packet (= per tag): where its frame starts in arena
    std::vector<uint16_t> length;
    // Per tag, what must come out. A workload is of one family: IPv4 frames fill `expect`,
    // IPv6 ones `expect6`, and an output whose family has no entry for its tag is wrong.
    std::vector<Expect> expect;
    std::vector<Expect6> expect6;
    std::vector<Burst> bursts;
    uint64_t connections = 0;      // full connections the workload opens and closes (storm)
    uint64_t bytes = 0;

    uint32_t size() const { return static_cast<uint32_t>(offset.size()); }
    // Appends one frame; its tag is its index. Returns the tag.
    uint32_t add(FrameSpec spec, const Expect& e);
    uint32_t add6(FrameSpec6 spec, const Expect6& e);  // workload6.cpp
    // Cuts [first, size()) into bursts of at most `burst` packets entering `port`.
    void close_bursts(uint32_t first, uint16_t port, unsigned burst);
};

// One client's flow to the 16-endpoint LB VIP. `backend` is learnt from the gateway's answer to
// the SYN (Maglev decides it), 0 until then.
struct Flow {
    uint32_t client = 0;
    uint16_t cport = 0;
    uint32_t backend = 0;
};

// `count` flows whose client tuples are unique to (`space`, `worker`).
std::vector<Flow> make_flows(uint32_t count, unsigned space, unsigned worker);

// Handshake steps to establish `flows` (SYN needs nothing; SYN/ACK and ACK need the backend).
Workload handshake_syn(const std::vector<Flow>& flows, unsigned burst);
Workload handshake_synack(const std::vector<Flow>& flows, unsigned burst);
Workload handshake_ack(const std::vector<Flow>& flows, unsigned burst);

// Established 64-byte traffic: each flow once per direction, in random order, bursts
// alternating between the client side and the backend side.
Workload established(const std::vector<Flow>& flows, unsigned burst, std::mt19937_64& rng);

// `conns` full TCP connections (SYN, SYN/ACK, ACK, FIN, FIN/ACK, ACK) to the one-endpoint VIP,
// in waves of `burst` connections, from client tuples unique to (`space`, `worker`).
Workload connection_storm(uint32_t conns, unsigned space, unsigned worker, unsigned burst);

// IMIX-sized (7:4:1 of 60, 590, 1514 bytes) traffic over established `flows`, with ~5% new
// connections (SYNs from tuples unique to `space`) and ~5% pings to the gateway.
Workload mixed(const std::vector<Flow>& flows, uint32_t packets, unsigned space, unsigned worker, unsigned burst,
               std::mt19937_64& rng);

}  // namespace nfgate::bench

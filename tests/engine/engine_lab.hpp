// A fast path on the bench: the real engine (EngineShared, WorkerContext, ServiceTable,
// process_burst) fed hand-built frames through a recording Io, with an injected clock. The
// model is a small gateway: "ext" (port 0) toward clients and a default router, "pods"
// (port 1) toward the pod network, a handful of Services covering each feature.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <memory>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "dataplane/engine/worker.hpp"
#include "tests/engine/packet_builder.hpp"

namespace nfgate::test {

inline constexpr uint16_t kExt = 0;
inline constexpr uint16_t kPods = 1;
inline const rte_ether_addr kExtMac{{0x02, 0, 0, 0, 0, 0x01}};
inline const rte_ether_addr kPodsMac{{0x02, 0, 0, 0, 0, 0x02}};
inline const rte_ether_addr kRouterMac{{0x02, 0, 0, 0, 0xfe, 0xfe}};
inline const rte_ether_addr kClientMac{{0x02, 0, 0, 0, 0xc1, 0x01}};  // a host on the ext link

rte_mempool* test_pool();  // created by the test main after EAL init

rte_ether_addr pod_mac(uint32_t pod_ip);  // deterministic MAC of a pod (learnt by the lab)
// Frames as the lab's neighbours put them on the wire: the upstream router on ext, a pod on pods.
Pkt from_router(Pkt p);
Pkt from_pod(Pkt p);
// The backend's TCP answer (on the pods link) to the translated packet `o`.
Pkt backend_reply(const Out& o, uint8_t flags);

Model lab_model();

// The same gateway dual-stack: ext 2001:db8:1::1/64 (also the IPv6 node address), pods
// fd00:10:244::1/64, ::/0 via kRouter6; web on kVip6 (and the in-prefix externalIP kExternal6)
// to kPodA6/kPodB6:8080, empty on kEmptyVip6.
inline const Ip6 kGwExt6 = Ip6{{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
inline const Ip6 kGwPods6 = Ip6{{0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
inline const Ip6 kClient6 = Ip6{{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99}};
inline const Ip6 kRouter6 = Ip6{{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe}};
inline const Ip6 kExternal6 = Ip6{{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50}};
inline const Ip6 kVip6 = Ip6{{0xfd, 0, 0, 0x10, 0, 0x96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}};
inline const Ip6 kEmptyVip6 = Ip6{{0xfd, 0, 0, 0x10, 0, 0x96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20}};
inline const Ip6 kPodA6 = Ip6{{0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a}};
inline const Ip6 kPodB6 = Ip6{{0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b}};
inline const Ip6 kPodC6 = Ip6{{0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0c}};  // no Service's
inline const rte_ether_addr kPodMac6{{0x02, 0, 0, 0, 0x6d, 0x01}};
Model dual_stack_lab_model();
// Teaches the IPv6 neighbours, heard at `now_s`: client and router on ext, the three pods on pods.
void learn_lab_neighbours6(engine::NeighbourTable6& n, uint32_t now_s);
// Teaches `n` the lab's neighbours: the router and a client on ext, every endpoint and two
// plain pods on pods (what a running gateway would have learnt by ARP).
void learn_lab_neighbours(engine::NeighbourTable& n, const Model& m, uint32_t now_s);

struct Sent {
    uint16_t port;
    rte_mbuf* m;
};

class RecordingIo {
public:
    void tx(uint16_t port, rte_mbuf* m) { sent.push_back({port, m}); }
    void drop(rte_mbuf* m) {
        ++dropped;
        rte_pktmbuf_free(m);
    }
    void clear() {
        for (auto& s : sent) rte_pktmbuf_free(s.m);
        sent.clear();
        dropped = 0;
    }
    ~RecordingIo() { clear(); }

    std::vector<Sent> sent;
    unsigned dropped = 0;
};

struct LabOptions {
    unsigned workers = 1;  // contexts beyond worker 0 are made by the test
    uint32_t max_flows = 4096;
    uint16_t snat_port_min = 1024;
    uint16_t snat_port_max = 65535;
};

class Lab {
public:
    explicit Lab(const Model& m = lab_model(), LabOptions opt = {});

    // Runs one burst of frames on `port`; previous outputs are freed first.
    void send(uint16_t port, const std::vector<std::vector<uint8_t>>& frames, engine::WorkerContext* on = nullptr);
    void send(uint16_t port, const std::vector<uint8_t>& frame) { send(port, std::vector<std::vector<uint8_t>>{frame}); }
    void send(uint16_t port, const Pkt& p) { send(port, serialize(p)); }

    // The single frame the last burst transmitted (fails the test when not exactly one).
    Out only_output(uint16_t expect_port);

    void update(const Model& m);  // publishes a new ServiceTable
    void advance(uint64_t seconds) { now_ns_ += seconds * 1'000'000'000ull; }
    void age_all();               // runs ageing over the whole table at the current time
    void tick();                  // the worker loop's timed chores (worker_tick) at the current time

    uint64_t reason(engine::Reason r) const { return worker_->stats.reason(r); }
    uint64_t now_ns() const { return now_ns_; }

    Model model;
    RecordingIo io;
    std::unique_ptr<engine::ServiceTable> st;
    std::unique_ptr<engine::EngineShared> shared;
    std::unique_ptr<engine::WorkerContext> worker_;

private:
    void learn_neighbours();
    uint64_t now_ns_ = 1'000'000'000'000ull;
};

}  // namespace nfgate::test

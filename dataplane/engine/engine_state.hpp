// State the engine keeps across bursts: EngineShared (one per fast path, all workers) and
// WorkerContext (one per worker lcore).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/snat_ports.hpp"
#include "dataplane/engine/affinity_table.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/engine/exception_queue.hpp"
#include "dataplane/engine/fragment_table.hpp"
#include "dataplane/engine/fragment_table6.hpp"
#include "dataplane/engine/frontend_traffic.hpp"
#include "dataplane/engine/neighbour_table.hpp"
#include "dataplane/engine/neighbour_table6.hpp"
#include "dataplane/engine/neighbour_wait.hpp"
#include "dataplane/engine/next_hop_cache.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/packet_parse6.hpp"
#include "dataplane/engine/source_limiter.hpp"
#include "dataplane/engine/syn_cookie.hpp"
#include "dataplane/engine/worker_stats.hpp"

struct rte_rcu_qsbr;

namespace nfgate::engine {

struct EngineConfig {
    uint32_t max_flows = 1u << 20;  // conntrack.maxFlows
    unsigned workers = 1;
    std::vector<uint32_t> snat_addresses;  // host order: the interface addresses, in interface order
    // Each interface's global IPv6 address (zero: none), in interface order. Without any, the
    // fast path keeps no IPv6 flow table and forwards no IPv6.
    std::vector<Ip6> snat_addresses6;
    uint16_t snat_port_min = 1024;
    uint16_t snat_port_max = 65535;
    // The fast path's QSBR variable (reader id = worker index), also guarding flow entries.
    // nullptr: the flow table makes its own and the caller must report quiescent states via
    // worker_quiescent().
    rte_rcu_qsbr* qsbr = nullptr;
    ct::Timeouts timeouts;

    static EngineConfig from_model(const Model& m);
};

class EngineShared {
public:
    static std::unique_ptr<EngineShared> create(const EngineConfig& cfg, std::string& err);

    ct::ConntrackTable& flows() { return *flows_; }
    const ct::ConntrackTable& flows() const { return *flows_; }
    ct::SnatPorts& snat() { return *snat_; }
    // The IPv6 flow table (nullptr: the gateway has no IPv6 address to forward from), its SNAT
    // ports (pool i: interface i's global IPv6 address) and the IPv6 neighbours.
    ct::ConntrackTable6* flows6() { return flows6_.get(); }
    const ct::ConntrackTable6* flows6() const { return flows6_.get(); }
    ct::SnatPorts& snat6() { return *snat6_; }
    int snat6_pool_of(const Ip6& a) const {
        for (size_t i = 0; i < snat6_addrs_.size(); ++i)
            if (snat6_addrs_[i] == a) return static_cast<int>(i);
        return -1;
    }
    NeighbourTable6& neighbours6() { return neighbours6_; }
    NeighbourTable& neighbours() { return neighbours_; }
    AffinityTable& affinity() { return affinity_; }
    unsigned workers() const { return workers_; }

    // The SYN proxy for Service frontends (syn_proxy.hpp): switched by the control thread, read
    // by workers on a SYN that misses the flow table. The cookie key is drawn at creation.
    void set_syn_proxy(bool on) { syn_proxy_.store(on, std::memory_order_relaxed); }
    bool syn_proxy() const { return syn_proxy_.load(std::memory_order_relaxed); }
    const SipKey& cookie_key() const { return cookie_key_; }
    void set_cookie_key(const SipKey& k) { cookie_key_ = k; }  // tests and fuzzing: reproducible cookies

private:
    EngineShared() = default;
    static bool create_ipv6(EngineShared& s, const EngineConfig& cfg, std::string& err);

    unsigned workers_ = 1;
    std::unique_ptr<ct::SnatPorts> snat_;  // before flows_: the table returns ports to it
    std::unique_ptr<ct::ConntrackTable> flows_;
    std::vector<Ip6> snat6_addrs_;
    std::unique_ptr<ct::SnatPorts> snat6_;
    std::unique_ptr<ct::ConntrackTable6> flows6_;
    NeighbourTable6 neighbours6_;
    NeighbourTable neighbours_;
    AffinityTable affinity_;
    std::atomic<bool> syn_proxy_{false};
    SipKey cookie_key_;
};

// Per-packet working state of one burst chunk. Lives in the WorkerContext so a burst starts
// without clearing kilobytes of stack.
struct BurstScratch {
    static constexpr unsigned kChunk = 64;  // ConntrackTable::lookup_bulk's limit

    struct Lane {
        rte_mbuf* m;
        PacketMeta pm;
        net::CsumDelta ip_delta;
    };
    ct::FlowKey keys[kChunk];
    ct::FlowRef refs[kChunk];
    uint8_t key_lane[kChunk];  // key index -> lane index
    uint8_t fwd_lane[kChunk];  // packets to route, in order
    Lane lanes[kChunk];
};

// What a worker keeps for IPv6 alone, allocated only when the gateway forwards IPv6 (it has an
// IPv6 flow table): an IPv4-only worker's state stays on as few pages as before.
struct Worker6 {
    // The burst's IPv6 lanes (burst6.hpp): their meta by lane index, their keys and hits.
    struct Scratch {
        PacketMeta6 pm[BurstScratch::kChunk];
        ct::FlowKey6 keys[BurstScratch::kChunk];
        ct::FlowRef6 refs[BurstScratch::kChunk];
        uint8_t key_lane[BurstScratch::kChunk];
        uint8_t fwd_lane[BurstScratch::kChunk];  // established packets to route, in order
    };
    Scratch scratch;
    NextHopCache6 next_hops;
    FragmentTable6 fragments;
    ArpRequestLimiter nd_limiter;  // neighbour solicitations, keyed by a fold of the IPv6 target
    NeighbourWait6 waiting;        // packets whose next hop's MAC is being solicited
};

struct WorkerContext {
    WorkerContext(EngineShared& s, unsigned worker_id)
        : shared(s), flows(s.flows()), id(worker_id), v6(s.flows6() != nullptr ? std::make_unique<Worker6>() : nullptr) {}
    WorkerContext(const WorkerContext&) = delete;
    WorkerContext& operator=(const WorkerContext&) = delete;

    EngineShared& shared;
    ct::ConntrackTable& flows;
    unsigned id;
    WorkerStats stats;
    FrontendCounters frontends;
    ArpRequestLimiter arp_limiter;
    NeighbourWait waiting;  // packets whose next hop's MAC is being asked for
    uint32_t neighbours_aged_s = 0;  // worker 0: the second the neighbour table was last aged
    NextHopCache next_hops;
    SourceLimiter sources;  // conntrack.newFlowsPerSource
    ExceptionQueue exceptions;  // to the gateway's kernel; unattached: such frames are dropped
    FragmentTable fragments;  // per worker: RSS keeps a datagram's fragments on one queue
    BurstScratch scratch;
    std::unique_ptr<Worker6> v6;  // IPv6 forwarding only (EngineShared::flows6())
};

}  // namespace nfgate::engine

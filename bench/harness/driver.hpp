// Drives the engine's burst function with the production TX path (port::TxBufferIo on net_ring
// ports) over a pre-built Workload, times only what a worker lcore does per burst
// (process_burst + TX flush, and the ageing slice once per drain period as the loaded loop does)
// and checks every frame that comes out.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "bench/harness/workload6.hpp"
#include "dataplane/engine/worker.hpp"
#include "dataplane/port/tsc_clock.hpp"
#include "dataplane/port/worker_loop.hpp"
#include "dataplane/port/tx_io.hpp"

namespace nfgate::bench {

inline constexpr unsigned kMaxWorkers = 2;
// 32 packets at even 3,000 cycles each take under 40 us on any CPU this runs on.
inline constexpr uint64_t kInterruptedBurstUs = 100;

// Two ring-backed ethdevs ("ext", "pods") with one RX/TX queue pair per worker.
struct HarnessPorts {
    bool create(rte_mempool* pool, std::string& err);
    uint16_t port_id[2] = {0, 0};
    rte_ether_addr mac[2]{};
    rte_ring* rx[2][kMaxWorkers]{};
    rte_ring* tx[2][kMaxWorkers]{};
};

struct RunStats {
    uint64_t cycles = 0;   // TSC cycles inside the timed section of uninterrupted bursts
    uint64_t packets = 0;  // fed in those bursts
    // Bursts that took longer than any burst can (kInterruptedBurstUs): the thread was
    // preempted or took an interrupt. Their packets are checked like any other, their time is
    // left out, since it measures the machine's other tenants rather than the worker.
    uint64_t interrupted = 0;
    uint64_t outputs = 0;
    uint64_t lost = 0;     // fed, nothing came out
    uint64_t wrong = 0;    // came out different from what the Expect says
    std::vector<std::string> first_errors;
};

class WorkerDriver {
public:
    WorkerDriver(unsigned id, const HarnessPorts& ports, rte_mempool* pool);
    ~WorkerDriver();
    WorkerDriver(const WorkerDriver&) = delete;
    WorkerDriver& operator=(const WorkerDriver&) = delete;

    void bind(engine::WorkerContext* ctx, const std::atomic<const engine::ServiceTable*>* table,
              rte_rcu_qsbr* qsv);

    // Feeds every burst of `w` once, timed. With `warm_up`, ARP requests from the gateway are
    // answered and packets without an answer are fed again (a few rounds), untimed; the
    // destination each output had is stored in `seen_dst` (per tag) when given.
    RunStats run(const Workload& w, bool warm_up, std::vector<uint32_t>* seen_dst = nullptr);
    // The same for an IPv6 workload. Its neighbours must be known beforehand
    // (NeighbourTable6::learn): a neighbour solicitation from the gateway is a failure.
    RunStats run(const Workload& w, bool warm_up, std::vector<Ip6>* seen_dst6);

private:
    void feed(const Workload& w, uint16_t port, const uint32_t* tags, unsigned n, bool timed, RunStats& st);
    RunStats run_checked(const Workload& w, bool warm_up);
    void collect(const Workload& w, bool warm_up, RunStats& st);
    void check(const Workload& w, uint16_t port, const uint8_t* frame, uint32_t len, bool warm_up, RunStats& st);
    void check6(const Workload& w, uint16_t port, const uint8_t* frame, uint32_t len, RunStats& st);
    void answer_arp(uint16_t port, const Parsed& request);
    void fail(RunStats& st, const std::string& what);

    unsigned id_;
    const HarnessPorts& ports_;
    rte_mempool* pool_;
    port::TxBufferIo io_;
    rte_eth_dev_tx_buffer* buffers_[2]{};
    port::TscClock clock_;
    uint64_t interrupted_tsc_;
    uint64_t housekeeping_tsc_;
    uint64_t last_housekeeping_ = 0;
    engine::WorkerContext* ctx_ = nullptr;
    const std::atomic<const engine::ServiceTable*>* table_ = nullptr;
    rte_rcu_qsbr* qsv_ = nullptr;
    std::vector<uint8_t> seen_;
    std::vector<uint32_t>* seen_dst_ = nullptr;  // the current run's, when it wants them
    std::vector<Ip6>* seen_dst6_ = nullptr;
    std::vector<std::pair<uint16_t, Parsed>> arp_requests_;
};

}  // namespace nfgate::bench

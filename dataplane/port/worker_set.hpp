// The worker lcores as one unit: their plans, TX buffers and counters, launch and stop.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <rte_launch.h>

#include "dataplane/port/worker_loop.hpp"

namespace nfgate::port {

class WorkerSet {
public:
    WorkerSet() = default;
    WorkerSet(const WorkerSet&) = delete;
    WorkerSet& operator=(const WorkerSet&) = delete;
    ~WorkerSet();

    // One plan per worker over `port_ids` (interface order); worker i owns queue i of every port.
    bool init(unsigned workers, std::span<const uint16_t> port_ids, rte_rcu_qsbr* qsv,
              std::string& err);
    // Every worker copies into `tap` while it is armed (set before launch).
    void set_capture(CaptureTap* tap) {
        for (WorkerPlan& p : plans_) p.capture = tap;
    }

    // Queues `m` for worker 0 to send on interface `iface` (any thread but the workers).
    // False when the hand-over ring is full: the caller still owns `m`.
    bool send_from_control(uint16_t iface, rte_mbuf* m);

    // Starts worker i on lcores[i] running run_worker_loop(plan i, *stages[i]). The stages must
    // outlive stop().
    template <class Stage>
    bool launch(std::span<const unsigned> lcores, std::span<Stage* const> stages, std::string& err);

    // Signals every worker, waits for them to leave their loops (rte_eal_mp_wait_lcore).
    void stop();

    unsigned size() const { return static_cast<unsigned>(plans_.size()); }
    bool running() const { return running_; }
    const WorkerIoStats& stats(unsigned worker) const { return stats_[worker]; }

private:
    template <class Stage>
    struct Launch {
        const WorkerPlan* plan;
        Stage* stage;
    };
    template <class Stage>
    static int entry(void* arg) {
        auto* l = static_cast<Launch<Stage>*>(arg);
        run_worker_loop(*l->plan, *l->stage);
        return 0;
    }

    std::atomic<bool> stop_{false};
    bool running_ = false;
    std::vector<WorkerPlan> plans_;
    std::unique_ptr<WorkerIoStats[]> stats_;
    std::vector<std::shared_ptr<void>> launches_;
    rte_ring* control_tx_ = nullptr;
};

template <class Stage>
bool WorkerSet::launch(std::span<const unsigned> lcores, std::span<Stage* const> stages,
                       std::string& err) {
    stop_.store(false, std::memory_order_relaxed);
    for (unsigned i = 0; i < plans_.size(); ++i) {
        auto l = std::make_shared<Launch<Stage>>(Launch<Stage>{&plans_[i], stages[i]});
        launches_.push_back(l);
        int rc = rte_eal_remote_launch(&WorkerSet::entry<Stage>, l.get(), lcores[i]);
        if (rc != 0) {
            err = "workers: cannot launch worker " + std::to_string(i) + " on lcore " +
                  std::to_string(lcores[i]) + " (is it busy or not an EAL worker lcore?)";
            stop();
            return false;
        }
        running_ = true;
    }
    return true;
}

}  // namespace nfgate::port

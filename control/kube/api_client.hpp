// Follows Services and EndpointSlices of every namespace: one thread per resource runs its
// list/watch cycle (watch_machine.hpp) over ApiTransport and hands decoded changes to the
// control thread, which is woken through an eventfd. Nothing here touches the data path.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/kube/cluster_cache.hpp"
#include "control/kube/kubeconfig.hpp"
#include "control/kube/watch_machine.hpp"
#include "control/metrics/metrics_text.hpp"

namespace nfgate::kube {

class ApiClient {
public:
    // `gateway`: what objects are checked against (nodePortRange, serviceCIDRs, zone).
    ApiClient(ApiEndpoint endpoint, Model gateway, WatchTiming timing = {});
    ~ApiClient();
    ApiClient(const ApiClient&) = delete;
    ApiClient& operator=(const ApiClient&) = delete;

    bool start(std::string& err);
    void stop();

    // Readable while changes or log lines wait; take() empties it.
    int fd() const { return efd_; }
    struct Pending {
        std::vector<Change> changes;
        std::vector<std::string> log;  // outages and recoveries, for the control thread to log
    };
    Pending take();

    // For /metrics: per resource up, errors, events, relists.
    std::vector<metrics::KubernetesFigures::Resource> figures() const;
    // Both resources listed at least once.
    bool synced() const { return listed_[0].load() && listed_[1].load(); }

private:
    struct Stats {
        std::atomic<bool> up{false};
        std::atomic<uint64_t> errors{0}, events{0}, lists{0};
    };
    void run(Resource resource);
    void push(Change change);
    void note(std::string line);
    void wake();
    bool sleep_until(Clock::time_point t);

    ApiEndpoint endpoint_;
    Model gateway_;
    WatchTiming timing_;
    int efd_ = -1;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    Pending pending_;
    std::array<Stats, 2> stats_;
    std::array<std::atomic<bool>, 2> listed_{};
    std::vector<std::thread> threads_;
};

}  // namespace nfgate::kube

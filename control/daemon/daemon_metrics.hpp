// The daemon's Prometheus figures: filled once a second (and after every reload) on the control
// thread from the model in force, the reload history and the data path's counters, then handed
// to the HTTP server as text. The sync-duration histogram lives here.
#pragma once

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "control/api/api_answers.hpp"
#include "control/daemon/kernel_figures.hpp"
#include "control/metrics/metrics_server.hpp"
#include "control/metrics/metrics_text.hpp"
#include "dataplane/counters.hpp"
#include "model/frontends.hpp"
#include "model/model.hpp"
#include "nft/flood_figures.hpp"

namespace nfgate::daemon {

// The snapshot from plain inputs (pure: unit-tested). `fast` is the fast path's counters,
// `kernel` what the kernel path reports; at most one is set.
metrics::Snapshot make_snapshot(const Model& m, const api::DaemonStatus& status, double start_unix,
                                const std::optional<fastpath::Counters>& fast, const KernelFigures* kernel,
                                const metrics::DurationHistogram& syncs,
                                std::span<const FrontendTraffic> traffic = {});

class DaemonMetrics {
public:
    // Starts serving when `address` is not empty. False with err when it cannot listen.
    bool start(const std::string& address, std::string& err);
    // After a reload: serves on `address` if it changed ("" stops serving). On failure the old
    // address keeps serving and err says why.
    bool follow(const std::string& address, std::string& err);
    bool running() const { return server_.running(); }
    const std::string& address() const { return server_.address(); }

    void observe_sync(double seconds) { syncs_.observe(seconds); }
    // The BGP figures the next refresh publishes (none: no bgp section).
    void set_bgp(std::optional<metrics::BgpFigures> bgp) { bgp_ = std::move(bgp); }
    // The kernel path's SYN-flood figures the next refresh publishes, as last sampled.
    void set_kernel_flood(const std::optional<nft::FloodFigures>& flood, bool syn_proxy) {
        kernel_flood_ = flood;
        kernel_syn_proxy_ = syn_proxy;
    }
    // The cluster-following figures the next refresh publishes (none: no kubernetes section).
    void set_kubernetes(std::optional<metrics::KubernetesFigures> k) { kubernetes_ = std::move(k); }

    // Readable while a scrape waits for fresh figures (-1 while not serving): take_wanted(),
    // then refresh().
    int wanted_fd() const { return server_.running() ? server_.wanted_fd() : -1; }
    void take_wanted() { server_.take_wanted(); }
    // Once a second: the workers' busy ratio over the last second, from their cycle counters.
    void sample_workers(const std::optional<fastpath::Counters>& fast);
    // Renders and publishes a new snapshot (no-op while not serving).
    // `traffic`: the data path's per-frontend counts (empty where it has none).
    void refresh(const Model& m, const api::DaemonStatus& status, const std::optional<fastpath::Counters>& fast,
                 std::span<const FrontendTraffic> traffic = {});

private:
    metrics::MetricsServer server_;
    metrics::DurationHistogram syncs_;
    double start_unix_ = 0;
    std::optional<metrics::BgpFigures> bgp_;
    std::optional<nft::FloodFigures> kernel_flood_;
    bool kernel_syn_proxy_ = false;
    std::optional<metrics::KubernetesFigures> kubernetes_;
    std::vector<std::pair<uint64_t, uint64_t>> previous_;  // per worker: (loop, busy) cycles a second ago
    std::vector<std::optional<double>> busy_ratio_;        // per worker, over the last second
};

}  // namespace nfgate::daemon

// The daemon's side of following a cluster: starts and restarts the API client as the gateway
// file says, drains its changes into the cluster cache on the control thread, paces applies
// (kubernetes.minSyncPeriod) and builds the model to apply from the files and the cache.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "control/kube/api_client.hpp"
#include "control/kube/cluster_assembly.hpp"
#include "control/kube/sync_pacer.hpp"
#include "control/loader/config_loader.hpp"

namespace nfgate::daemon {

// The kubeconfig, or the service account in in-cluster mode, as an API endpoint.
bool resolve_endpoint(const KubernetesSettings& k, kube::ApiEndpoint& out, std::vector<loader::Diag>& errors);

class ClusterFollower {
public:
    using Clock = std::chrono::steady_clock;

    // Starts, restarts (settings or the checks objects depend on changed) or stops following as
    // `gateway` says. False with errors when the credentials cannot be read; the old client
    // then keeps running.
    bool follow(const Model& gateway, std::vector<loader::Diag>& errors);
    bool active() const { return client_ != nullptr; }
    int fd() const { return client_ ? client_->fd() : -1; }

    // Waits until both resources were listed once, or `deadline`; drains as it goes.
    bool wait_synced(Clock::time_point deadline);
    // Takes the client's changes into the cache and logs what it reported. Marks the pacer.
    void drain();

    std::optional<Clock::time_point> due() const { return pacer_.due(); }
    bool ready(Clock::time_point now) const { return active() && pacer_.ready(now); }
    // The files plus the cluster (skipped objects logged); call applied() once it went through.
    loader::LoadResult compose(const loader::LoadedSources& files);
    void applied(Clock::time_point now) {
        pacer_.applied(now);
        ++applies_;
        applying_ = oldest_change_;
        oldest_change_.reset();
    }
    // The changes applied() took are live now (the data path applied them): their latency is
    // observed from the oldest of them (returned, in seconds; none when nothing was pending).
    std::optional<double> live(Clock::time_point now) {
        std::optional<double> seconds;
        if (applying_) seconds = std::chrono::duration<double>(now - *applying_).count();
        if (seconds) change_to_live_.observe(*seconds);
        applying_.reset();
        return seconds;
    }
    bool incremental() const { return assembly_.incremental(); }  // how the last compose() went

    std::optional<metrics::KubernetesFigures> figures() const;

private:
    std::unique_ptr<kube::ApiClient> client_;
    Model checks_;  // the gateway settings the running client checks objects against
    kube::ClusterCache cache_;
    kube::ClusterAssembly assembly_;  // the last model, re-resolved where the cache changed
    kube::SyncPacer pacer_{std::chrono::milliseconds(1000)};
    uint64_t applies_ = 0;
    std::optional<Clock::time_point> oldest_change_;  // taken from the client, not applied yet
    std::optional<Clock::time_point> applying_;       // what the running apply takes in
    metrics::DurationHistogram change_to_live_;
    uint64_t skipped_ = 0;
};

}  // namespace nfgate::daemon

#include "control/daemon/cluster_follower.hpp"

#include <poll.h>

#include "control/log/log_line.hpp"

namespace nfgate::daemon {

namespace {

// What decoding an object depends on: a change of these re-reads the cluster.
bool same_checks(const Model& a, const Model& b) {
    return a.kubernetes == b.kubernetes && a.node_port_min == b.node_port_min && a.node_port_max == b.node_port_max &&
           a.service_cidrs == b.service_cidrs && a.zone == b.zone;
}

}  // namespace

bool resolve_endpoint(const KubernetesSettings& k, kube::ApiEndpoint& out, std::vector<loader::Diag>& errors) {
    if (k.in_cluster) return kube::in_cluster_endpoint(kube::InCluster{}, out, errors);
    return kube::read_kubeconfig(k.kubeconfig, out, errors);
}

bool ClusterFollower::follow(const Model& gateway, std::vector<loader::Diag>& errors) {
    pacer_.set_period(std::chrono::milliseconds(gateway.kubernetes.min_sync_ms));
    assembly_.invalidate();  // called for every load: the files and the gateway may have changed
    if (!gateway.kubernetes.enabled()) {
        if (client_) log::line(log::Level::notice, "kubernetes: no longer following the API server");
        client_.reset();
        cache_ = {};
        return true;
    }
    if (client_ && same_checks(checks_, gateway)) return true;
    kube::ApiEndpoint ep;
    if (!resolve_endpoint(gateway.kubernetes, ep, errors)) return false;
    auto next = std::make_unique<kube::ApiClient>(ep, gateway);
    std::string err;
    if (!next->start(err)) {
        errors.push_back(loader::Diag{"", 0, "kubernetes", "", err});
        return false;
    }
    log::line(log::Level::notice, "kubernetes: following " + ep.server + " (" + ep.origin + ")");
    client_ = std::move(next);  // the old client stops here; the new one relists (replace)
    checks_ = gateway;
    checks_.services.clear();
    return true;
}

bool ClusterFollower::wait_synced(Clock::time_point deadline) {
    while (client_ && !client_->synced()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) break;
        pollfd p{client_->fd(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left));
        drain();
    }
    drain();
    return client_ && client_->synced();
}

void ClusterFollower::drain() {
    if (!client_) return;
    kube::ApiClient::Pending p = client_->take();
    for (const auto& line : p.log) log::line(log::Level::warning, line);
    std::vector<loader::Diag> errors, notices;
    for (auto& change : p.changes) {
        const Clock::time_point received = change.received;
        if (cache_.apply(std::move(change), errors, notices)) {
            pacer_.changed();
            if (!oldest_change_ || received < *oldest_change_) oldest_change_ = received;
        }
    }
    for (const auto& e : errors) log::line(log::Level::warning, "kubernetes: skipped: " + e.str());
    for (const auto& n : notices) log::line(log::Level::info, "kubernetes: notice: " + n.str());
}

loader::LoadResult ClusterFollower::compose(const loader::LoadedSources& files) {
    const kube::MergeResult& merged = assembly_.assemble(files, cache_, cache_.take_touched());
    skipped_ = merged.skipped.size();
    for (const auto& s : merged.skipped) log::line(log::Level::warning, "kubernetes: left out: " + s.str());
    return merged.load;
}

std::optional<metrics::KubernetesFigures> ClusterFollower::figures() const {
    if (!client_) return std::nullopt;
    metrics::KubernetesFigures f;
    f.resources = client_->figures();
    f.objects = cache_.size();
    f.skipped_objects = skipped_;
    f.applies = applies_;
    f.change_to_live = change_to_live_;
    return f;
}

}  // namespace nfgate::daemon

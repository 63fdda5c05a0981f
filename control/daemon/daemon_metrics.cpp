#include "control/daemon/daemon_metrics.hpp"

#include <chrono>

#include "control/daemon/frontend_traffic_map.hpp"

namespace nfgate::daemon {

metrics::Snapshot make_snapshot(const Model& m, const api::DaemonStatus& status, double start_unix,
                                const std::optional<fastpath::Counters>& fast, const KernelFigures* kernel,
                                const metrics::DurationHistogram& syncs, std::span<const FrontendTraffic> traffic) {
    metrics::Snapshot s;
    s.version = status.version;
    s.dataplane = m.dataplane == DataplaneKind::dpdk ? "dpdk" : "kernel";
    s.start_time_seconds = start_unix;
    s.reloads_success = status.reloads_ok;
    s.reloads_failure = status.reloads_rejected;
    s.services = m.services.size();
    for (const auto& svc : m.services) {
        s.service_ports += svc.ports.size();
        for (const auto& p : svc.ports) {
            s.endpoints += p.endpoints.size();
            s.endpoints_ready += p.ready_count();
        }
    }
    if (fast) {
        s.flows = fast->flows_in_use;
        s.flow_capacity = fast->flow_capacity;
        s.half_open_flows = fast->half_open_flows;
        s.syn_proxy = fast->syn_proxy;
        for (const auto& p : fast->ports) s.interfaces.push_back({p.name, p.rx_packets, p.tx_packets, {}, {}});
        const fastpath::WorkerCounters all = fast->total();
        for (size_t r = 0; r < engine::kReasonCount; ++r)
            s.drops.emplace_back(std::string(engine::kReasonNames[r]), all.reasons[r]);
        for (size_t w = 0; w < fast->workers.size(); ++w) {
            const auto& k = fast->workers[w];
            s.workers.push_back({static_cast<unsigned>(w), k.rx_packets, k.tx_packets, k.flows_created, k.loop_cycles,
                                 k.busy_cycles, {}, k.snat_fill});
        }
    } else if (kernel) {
        s.flows = kernel->conntrack_count;
        s.flow_capacity = kernel->conntrack_max;
        s.interfaces = kernel->interfaces;
        s.half_open_flows = kernel->half_open_flows;
        s.syn_proxy = kernel->syn_proxy;
        // The fast path's reason name: one series for the per-source limit on both paths.
        if (kernel->new_flows_rate_limited)
            s.drops.emplace_back(std::string(engine::kReasonNames[static_cast<size_t>(engine::Reason::new_flow_rate_limited)]),
                                 *kernel->new_flows_rate_limited);
    }
    if (!traffic.empty()) {
        const std::vector<Frontend> fronts = all_frontends(m);  // both families' traffic
        s.service_traffic = traffic_by_service_port(m, fronts, traffic_by_frontend(fronts, traffic));
    }
    s.sync_duration = syncs;
    return s;
}

bool DaemonMetrics::start(const std::string& address, std::string& err) {
    start_unix_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (address.empty()) return true;
    return server_.start(address, err);
}

bool DaemonMetrics::follow(const std::string& address, std::string& err) {
    if (address == server_.address()) return true;
    if (address.empty()) {
        server_.stop();
        return true;
    }
    metrics::MetricsServer probe;  // bind the new address before giving up the old one
    if (!probe.start(address, err)) return false;
    probe.stop();
    server_.stop();
    return server_.start(address, err);
}

void DaemonMetrics::refresh(const Model& m, const api::DaemonStatus& status,
                            const std::optional<fastpath::Counters>& fast, std::span<const FrontendTraffic> traffic) {
    if (!server_.running()) return;
    KernelFigures kernel;
    if (m.dataplane == DataplaneKind::kernel) {
        kernel = read_kernel_figures();
        kernel.syn_proxy = kernel_syn_proxy_;
        if (kernel_flood_) {
            kernel.half_open_flows = kernel_flood_->half_open;
            kernel.new_flows_rate_limited = kernel_flood_->rate_limited;
        }
    }
    metrics::Snapshot s =
        make_snapshot(m, status, start_unix_, fast, m.dataplane == DataplaneKind::kernel ? &kernel : nullptr, syncs_, traffic);
    s.bgp = bgp_;
    s.kubernetes = kubernetes_;
    for (auto& w : s.workers)
        if (w.worker < busy_ratio_.size()) w.busy_ratio = busy_ratio_[w.worker];
    server_.publish(metrics::render(s));
}

void DaemonMetrics::sample_workers(const std::optional<fastpath::Counters>& fast) {
    if (!fast) return;
    busy_ratio_.assign(fast->workers.size(), std::nullopt);
    for (size_t i = 0; i < fast->workers.size(); ++i) {
        const auto& w = fast->workers[i];
        if (i < previous_.size() && w.loop_cycles > previous_[i].first)
            busy_ratio_[i] = double(w.busy_cycles - previous_[i].second) / double(w.loop_cycles - previous_[i].first);
    }
    previous_.clear();
    for (const auto& w : fast->workers) previous_.emplace_back(w.loop_cycles, w.busy_cycles);
}

}  // namespace nfgate::daemon

#include "control/metrics/metrics_text.hpp"

#include <cmath>
#include <cstdio>

namespace nfgate::metrics {

namespace {

constexpr unsigned kBuckets = 15;

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string escape(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

class Writer {
public:
    void family(const char* name, const char* type, const char* help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    // labels: "k1", "v1", "k2", "v2", ...
    void sample(const std::string& name, std::initializer_list<std::string> labels, const std::string& value) {
        out_ += name;
        if (labels.size() != 0) {
            out_ += '{';
            bool first = true;
            for (auto it = labels.begin(); it != labels.end(); it += 2) {
                if (!first) out_ += ',';
                first = false;
                out_ += *it;
                out_ += "=\"";
                out_ += escape(*(it + 1));
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }
    void sample(const std::string& name, std::initializer_list<std::string> labels, uint64_t v) {
        sample(name, labels, std::to_string(v));
    }
    void gauge(const char* name, const char* help, double v) {
        family(name, "gauge", help);
        sample(name, {}, number(v));
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

void render_histogram(Writer& w, const std::string& name, const char* help, const DurationHistogram& h) {
    w.family(name.c_str(), "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds().size(); ++i) {
        cumulative += h.counts()[i];
        w.sample(name + "_bucket", {"le", number(h.bounds()[i])}, cumulative);
    }
    w.sample(name + "_bucket", {"le", "+Inf"}, h.count());
    w.sample(name + "_sum", {}, number(h.sum()));
    w.sample(name + "_count", {}, h.count());
}

void render_kubernetes(Writer& w, const KubernetesFigures& k) {
    w.family("nfgate_kubernetes_up", "gauge", "1 while the API server answers the list/watch of a resource.");
    for (const auto& r : k.resources) w.sample("nfgate_kubernetes_up", {"resource", r.name}, r.up ? 1 : 0);
    w.family("nfgate_kubernetes_errors_total", "counter", "Failed API requests: no answer, HTTP errors, broken watch streams.");
    for (const auto& r : k.resources) w.sample("nfgate_kubernetes_errors_total", {"resource", r.name}, r.errors);
    w.family("nfgate_kubernetes_events_total", "counter", "Watch events received from the API server, bookmarks included.");
    for (const auto& r : k.resources) w.sample("nfgate_kubernetes_events_total", {"resource", r.name}, r.events);
    w.family("nfgate_kubernetes_relists_total", "counter", "Lists after the first one (410 Gone, reconnects).");
    for (const auto& r : k.resources) w.sample("nfgate_kubernetes_relists_total", {"resource", r.name}, r.relists);
    w.gauge("nfgate_kubernetes_objects", "Services and EndpointSlices from the API server being served.",
            static_cast<double>(k.objects));
    w.gauge("nfgate_kubernetes_skipped_objects", "Objects from the API server left out at the last apply (invalid or conflicting).",
            static_cast<double>(k.skipped_objects));
    w.family("nfgate_kubernetes_applies_total", "counter", "Cluster changes applied to the data path.");
    w.sample("nfgate_kubernetes_applies_total", {}, k.applies);
    render_histogram(w, "nfgate_kubernetes_change_to_live_seconds",
                     "From a watch event's arrival at nfgate to the data path having applied the change.",
                     k.change_to_live);
}

void render_bgp(Writer& w, const BgpFigures& b) {
    w.family("nfgate_bgp_session_up", "gauge", "1 while the BGP session with a peer is Established.");
    for (const auto& s : b.sessions) w.sample("nfgate_bgp_session_up", {"peer", s.peer}, s.established ? 1 : 0);
    w.family("nfgate_bgp_session_prefixes_exported", "gauge", "Prefixes BIRD announces to a peer now.");
    for (const auto& s : b.sessions) w.sample("nfgate_bgp_session_prefixes_exported", {"peer", s.peer}, s.exported);
    w.gauge("nfgate_bgp_announced_prefixes", "Prefixes nfgate asks BIRD to announce (VIPs with a ready endpoint).",
            static_cast<double>(b.announced));
    w.gauge("nfgate_bgp_speaker_up", "1 while nfgate's BIRD process runs.", b.speaker_running ? 1 : 0);
    w.family("nfgate_bgp_speaker_restarts_total", "counter", "Times nfgate started BIRD again after it exited.");
    w.sample("nfgate_bgp_speaker_restarts_total", {}, b.speaker_restarts);
}

// One family per figure, a sample per Service port that has the figure.
void render_service_traffic(Writer& w, const std::vector<ServicePortTraffic>& traffic) {
    struct Family {
        const char* name;
        const char* help;
        std::optional<uint64_t> ServicePortTraffic::*figure;
    };
    static constexpr Family kFamilies[] = {
        {"nfgate_service_connections_total", "New connections to a Service port (all its frontends).",
         &ServicePortTraffic::connections},
        {"nfgate_service_packets_total", "Packets of a Service port's connections, both directions.",
         &ServicePortTraffic::packets},
        {"nfgate_service_bytes_total", "Bytes (IP length) of a Service port's connections, both directions.",
         &ServicePortTraffic::bytes},
    };
    for (const Family& f : kFamilies) {
        bool any = false;
        for (const auto& t : traffic) any |= (t.*f.figure).has_value();
        if (!any) continue;
        w.family(f.name, "counter", f.help);
        for (const auto& t : traffic)
            if (const auto& v = t.*f.figure)
                w.sample(f.name, {"service", t.service, "port", t.port, "protocol", t.protocol}, *v);
    }
}

}  // namespace

DurationHistogram::DurationHistogram() : counts_(kBuckets, 0) {
    for (unsigned i = 0; i < kBuckets; ++i) bounds_.push_back(0.001 * std::ldexp(1.0, static_cast<int>(i)));
}

void DurationHistogram::observe(double seconds) {
    for (size_t i = 0; i < bounds_.size(); ++i)
        if (seconds <= bounds_[i]) {
            ++counts_[i];
            break;
        }
    sum_ += seconds;
    ++count_;
}

std::string render(const Snapshot& s) {
    Writer w;
    w.family("nfgate_build_info", "gauge", "Version and data path of the running nfgate (always 1).");
    w.sample("nfgate_build_info", {"version", s.version, "dataplane", s.dataplane}, "1");
    w.gauge("nfgate_start_time_seconds", "Unix time the daemon started.", s.start_time_seconds);

    w.family("nfgate_config_reloads_total", "counter", "Configuration reloads (SIGHUP or nfgatectl reload) by result.");
    w.sample("nfgate_config_reloads_total", {"result", "success"}, s.reloads_success);
    w.sample("nfgate_config_reloads_total", {"result", "failure"}, s.reloads_failure);

    w.gauge("nfgate_services", "Services in the configuration in force.", static_cast<double>(s.services));
    w.gauge("nfgate_service_ports", "Service ports in the configuration in force.", static_cast<double>(s.service_ports));
    w.family("nfgate_endpoints", "gauge", "Endpoints of all Service ports, by readiness.");
    w.sample("nfgate_endpoints", {"ready", "true"}, s.endpoints_ready);
    w.sample("nfgate_endpoints", {"ready", "false"}, s.endpoints - s.endpoints_ready);

    if (s.flows) w.gauge("nfgate_flows", "Connections tracked now.", static_cast<double>(*s.flows));
    if (s.flow_capacity)
        w.gauge("nfgate_flow_table_capacity", "Connections the flow table can hold.", static_cast<double>(*s.flow_capacity));
    if (s.half_open_flows)
        w.gauge("nfgate_half_open_flows", "TCP connections whose handshake has not completed (last flow table sweep).",
                static_cast<double>(*s.half_open_flows));
    if (s.syn_proxy)
        w.gauge("nfgate_syn_proxy_active", "1 while SYNs to Services are answered with SYN cookies (conntrack.synProxy).",
                *s.syn_proxy ? 1.0 : 0.0);

    if (!s.interfaces.empty()) {
        w.family("nfgate_packets_total", "counter", "Packets received (rx) and sent (tx) per interface.");
        for (const auto& i : s.interfaces) {
            w.sample("nfgate_packets_total", {"interface", i.name, "direction", "rx"}, i.rx_packets);
            w.sample("nfgate_packets_total", {"interface", i.name, "direction", "tx"}, i.tx_packets);
        }
        bool bytes = false;
        for (const auto& i : s.interfaces) bytes |= i.rx_bytes.has_value();
        if (bytes) {
            w.family("nfgate_bytes_total", "counter", "Bytes received (rx) and sent (tx) per interface.");
            for (const auto& i : s.interfaces) {
                if (!i.rx_bytes || !i.tx_bytes) continue;
                w.sample("nfgate_bytes_total", {"interface", i.name, "direction", "rx"}, *i.rx_bytes);
                w.sample("nfgate_bytes_total", {"interface", i.name, "direction", "tx"}, *i.tx_bytes);
            }
        }
    }
    if (!s.drops.empty()) {
        w.family("nfgate_drops_total", "counter",
                 "Packets that left the forwarding path, by reason (drops, and exceptions answered in place).");
        for (const auto& [reason, n] : s.drops) w.sample("nfgate_drops_total", {"reason", reason}, n);
    }
    if (!s.workers.empty()) {
        w.family("nfgate_worker_packets_total", "counter", "Packets a worker took from its RX queues (rx) or sent (tx).");
        for (const auto& k : s.workers) {
            w.sample("nfgate_worker_packets_total", {"worker", std::to_string(k.worker), "direction", "rx"}, k.rx_packets);
            w.sample("nfgate_worker_packets_total", {"worker", std::to_string(k.worker), "direction", "tx"}, k.tx_packets);
        }
        w.family("nfgate_worker_cycles_total", "counter",
                 "TSC cycles of a worker's poll loop: all of them, and those of turns that had packets (busy).");
        for (const auto& k : s.workers) {
            w.sample("nfgate_worker_cycles_total", {"worker", std::to_string(k.worker), "kind", "all"}, k.loop_cycles);
            w.sample("nfgate_worker_cycles_total", {"worker", std::to_string(k.worker), "kind", "busy"}, k.busy_cycles);
        }
        w.family("nfgate_worker_flows_created_total", "counter", "Flows a worker created.");
        for (const auto& k : s.workers)
            w.sample("nfgate_worker_flows_created_total", {"worker", std::to_string(k.worker)}, k.flows_created);
        bool busy = false, snat = false;
        for (const auto& k : s.workers) {
            busy |= k.busy_ratio.has_value();
            snat |= k.snat_pool_fill.has_value();
        }
        if (busy) {
            w.family("nfgate_worker_busy_ratio", "gauge",
                     "Share of a worker's poll-loop cycles spent on packets over the last second.");
            for (const auto& k : s.workers)
                if (k.busy_ratio) w.sample("nfgate_worker_busy_ratio", {"worker", std::to_string(k.worker)}, number(*k.busy_ratio));
        }
        if (snat) {
            w.family("nfgate_snat_pool_fill_ratio", "gauge", "Share of a worker's SNAT ports in use.");
            for (const auto& k : s.workers)
                if (k.snat_pool_fill)
                    w.sample("nfgate_snat_pool_fill_ratio", {"worker", std::to_string(k.worker)}, number(*k.snat_pool_fill));
        }
    }

    render_service_traffic(w, s.service_traffic);
    if (s.bgp) render_bgp(w, *s.bgp);
    if (s.kubernetes) render_kubernetes(w, *s.kubernetes);

    render_histogram(w, "nfgate_sync_duration_seconds",
                     "Time to apply a configuration to the data path (a kernel-path batch or a fast-path publish).",
                     s.sync_duration);
    return w.take();
}

}  // namespace nfgate::metrics

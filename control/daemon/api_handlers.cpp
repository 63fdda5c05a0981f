#include "control/daemon/api_handlers.hpp"

#include <ctime>

#include "control/daemon/bgp_report.hpp"
#include "control/daemon/frontend_traffic_map.hpp"
#include "control/daemon/kernel_figures.hpp"

namespace nfgate::daemon {

namespace {

constexpr const char* kVersion = "0.1.0";

struct Failure {
    std::string message;
};

}  // namespace

DaemonApi::DaemonApi(std::string config_path, const GatewayController& controller, Dataplane& dp, Reload reload)
    : config_path_(std::move(config_path)), controller_(controller), dp_(dp), reload_(std::move(reload)) {}

void DaemonApi::record_reload(const Outcome& o) {
    history_.last_reload = o.ok ? "ok" : "rejected";
    history_.last_reload_error = o.ok ? "" : (o.details.empty() ? o.status : o.details.front());
    history_.last_reload_unix = static_cast<int64_t>(std::time(nullptr));
    ++(o.ok ? history_.reloads_ok : history_.reloads_rejected);
}

api::DaemonStatus DaemonApi::status() const {
    api::DaemonStatus d = history_;
    d.version = kVersion;
    d.config_path = config_path_;
    d.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (controller_.current()) {
        d.control_socket = controller_.current()->control.socket;
        d.metrics_address = controller_.current()->control.metrics_address;
    }
    return d;
}

api::Json DaemonApi::services() const {
    const Model& m = *controller_.current();
    const std::vector<Frontend> fronts = all_frontends(m);
    std::vector<api::FrontendFigures> figures(fronts.size());
    // Flows per frontend: one walk of the data path's flow table by original destination.
    api::FrontendIndex index(m, fronts);
    std::string err;
    if (dp_.list_flows([&](const TrackedFlow& f) {
            const int i = index.find(f);
            if (i >= 0) {
                auto& flows = figures[static_cast<size_t>(i)].flows;
                flows = flows.value_or(0) + 1;
            }
            return true;
        }, err))
        for (auto& fig : figures) fig.flows = fig.flows.value_or(0);
    // Connections, packets and bytes: the data path's own counters per frontend, both families.
    std::vector<FrontendTraffic> traffic;
    if (dp_.frontend_traffic(traffic, err)) {
        const std::vector<FrontendTraffic> per = traffic_by_frontend(fronts, traffic);
        for (size_t i = 0; i < per.size(); ++i) {
            figures[i].connections = per[i].connections;
            figures[i].packets = per[i].packets;
            figures[i].bytes = per[i].bytes;
        }
    }
    return api::services_json(m, fronts, figures);
}

api::Json DaemonApi::counters() const {
    if (auto c = dp_.counters()) return api::counters_json(*c);
    // The kernel path: its interfaces and conntrack table as the kernel counts them.
    const KernelFigures k = read_kernel_figures();
    api::Json ports = api::Json::array();
    for (const auto& i : k.interfaces)
        ports.push_back({{"name", i.name},
                         {"rx_packets", i.rx_packets},
                         {"tx_packets", i.tx_packets},
                         {"rx_bytes", i.rx_bytes ? api::Json(*i.rx_bytes) : api::Json(nullptr)},
                         {"tx_bytes", i.tx_bytes ? api::Json(*i.tx_bytes) : api::Json(nullptr)},
                         {"tx_ring_full", nullptr}});
    auto opt = [](const std::optional<uint64_t>& v) { return v ? api::Json(*v) : api::Json(nullptr); };
    api::Json out{{"ports", std::move(ports)},
                  {"flows_in_use", opt(k.conntrack_count)},
                  {"flow_capacity", opt(k.conntrack_max)},
                  {"syn_proxy", dp_.kernel_syn_proxy()}};
    // The SYN-flood figures, under the fast path's names where they mean the same.
    if (controller_.current())
        if (const auto f = dp_.flood_figures(*controller_.current())) {
            out["half_open_flows"] = f->half_open;
            out["syn_cookie_sent"] = f->syn_received;
            out["syn_proxy_opened"] = f->cookie_valid;
            out["syn_cookie_invalid"] = f->cookie_invalid;
            out["conntrack_early_drop"] = f->early_drop;
            // The fast path's drop reason for the same thing.
            if (f->rate_limited) out["drops"] = api::Json{{"new_flow_rate_limited", *f->rate_limited}};
        }
    return out;
}

api::Json DaemonApi::flows(const api::Json& args) const {
    api::FlowFilter filter;
    std::string err;
    if (!api::parse_flow_filter(args, filter, err)) throw Failure{err};
    const Model& m = *controller_.current();
    const std::vector<Frontend> fronts = all_frontends(m);
    api::FlowListing listing(m, fronts, filter, true);
    if (!dp_.list_flows([&](const TrackedFlow& f) { return listing.add(f); }, err)) throw Failure{err};
    return listing.take();
}

Outcome DaemonApi::run_reload() {
    Outcome o = reload_();
    record_reload(o);
    return o;
}

api::Json DaemonApi::reload() {
    const Outcome o = run_reload();
    if (!o.ok) throw Failure{o.details.empty() ? o.status : o.status + " (" + std::to_string(o.details.size()) +
                                                              " error(s); first: " + o.details.front() + ")"};
    return api::Json(o.status);
}

api::Json DaemonApi::handle(const api::Json& request, std::unique_ptr<api::Reply>& later) {
    const auto cmd_it = request.find("command");
    if (cmd_it == request.end() || !cmd_it->is_string()) return api::answer_error("the request has no \"command\"");
    const std::string cmd = cmd_it->get<std::string>();
    const api::Json args = request.value("args", api::Json::object());
    if (!controller_.current()) return api::answer_error("nfgate is starting: no configuration in force yet");
    try {
        if (cmd == "status") return api::answer_ok(api::status_json(status(), *controller_.current()));
        if (cmd == "services") return api::answer_ok(services());
        if (cmd == "flows") return api::answer_ok(flows(args));
        if (cmd == "reload") return api::answer_ok(reload());
        if (cmd == "counters") return api::answer_ok(counters());
        if (cmd == "capture") {
            if (!dp_.captures())
                throw Failure{"capture copies the fast path's frames; on the kernel path use tcpdump -i IFACE -w FILE"};
            CaptureArgs a;
            std::string err;
            if (!parse_capture_args(args, *controller_.current(), a, err) || !capture_.begin(dp_, a, later, err))
                throw Failure{err};
            return api::Json();  // answered by the session
        }
        if (cmd == "trace") {
            TracePacket p;
            std::string err;
            if (!api::parse_trace_args(args, p, err)) throw Failure{err};
            const Model& m = *controller_.current();
            return api::answer_ok(api::trace_json(p, m.dataplane == DataplaneKind::dpdk ? "dpdk" : "kernel",
                                                  dp_.trace(m, p)));
        }
        if (cmd == "bgp") {
            if (bgp_ == nullptr || !bgp_->enabled())
                throw Failure{"BGP is not configured (the gateway file has no bgp section)"};
            return api::answer_ok(bgp_json(*bgp_, static_cast<int64_t>(std::time(nullptr))));
        }
        return api::answer_error("unknown command \"" + cmd + "\" (want status, services, flows, counters, trace, "
                                 "capture, reload or bgp)");
    } catch (const Failure& f) {
        return api::answer_error(f.message);
    } catch (const std::exception& e) {
        return api::answer_error(cmd + " failed: " + e.what());
    }
}

}  // namespace nfgate::daemon

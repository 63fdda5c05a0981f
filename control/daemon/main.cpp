// nfgate: load the gateway file, start the chosen data path, reload on SIGHUP, stop on
// SIGTERM/SIGINT. Status lines scripts wait for go to stdout; everything else to stderr, one
// line per event (control/log/log_line.hpp); systemd hears of each state (notify.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "control/api/api_socket.hpp"
#include "control/bgp/bird_speaker.hpp"
#include "control/daemon/api_handlers.hpp"
#include "control/daemon/bgp_report.hpp"
#include "control/daemon/cluster_follower.hpp"
#include "control/daemon/counters_text.hpp"
#include "control/daemon/daemon_metrics.hpp"
#include "control/daemon/dataplane_adapters.hpp"
#include "control/daemon/event_loop.hpp"
#include "control/daemon/exhaustion_log.hpp"
#include "control/daemon/syn_flood_guard.hpp"
#include "control/daemon/gateway_controller.hpp"
#include "control/daemon/notify.hpp"
#include "control/daemon/options.hpp"
#include "control/daemon/signals.hpp"
#include "control/loader/config_loader.hpp"
#include "control/log/log_line.hpp"
#include "nft/kernel_path.hpp"
#include "nft/owner_lock.hpp"

using namespace nfgate;
using namespace nfgate::daemon;

namespace {

std::string milliseconds_text(double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", seconds * 1e3);
    return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void print_status(const std::string& line, log::Level level = log::Level::notice) {
    log::status(level, line);  // flushed at once: scripts block on this line
}

void print_details(const std::vector<std::string>& lines, log::Level level = log::Level::warning) {
    for (const auto& l : lines) log::line(level, l);
}

void apply_overrides(const Options& opts, loader::LoadResult& res) {
    if (res.ok() && opts.control_socket) res.model.control.socket = *opts.control_socket;
    if (res.ok() && opts.metrics_address) res.model.control.metrics_address = *opts.metrics_address;
}

// The files, and with a kubernetes section the cluster as the follower holds it.
loader::LoadResult compose(const Options& opts, const loader::LoadedSources& sources, ClusterFollower* follower) {
    loader::LoadResult res = follower && follower->active() ? follower->compose(sources) : loader::assemble(sources);
    apply_overrides(opts, res);
    return res;
}

loader::LoadResult load(const Options& opts, const loader::LoadOptions& lo, loader::LoadedSources* keep = nullptr,
                        ClusterFollower* follower = nullptr) {
    auto t0 = std::chrono::steady_clock::now();
    loader::LoadedSources sources = loader::load_sources(opts.config, lo);
    if (follower && sources.errors.empty()) follower->follow(sources.gateway, sources.errors);
    if (opts.mode == Mode::check && sources.errors.empty() && sources.gateway.kubernetes.enabled()) {
        kube::ApiEndpoint ep;  // --check reads the credentials too
        resolve_endpoint(sources.gateway.kubernetes, ep, sources.errors);
    }
    loader::LoadResult res = compose(opts, sources, follower);
    if (keep && sources.errors.empty()) *keep = std::move(sources);
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (opts.verbose || opts.mode == Mode::check)
        for (const auto& n : res.notices) log::line(log::Level::notice, "notice: " + n.str());
    if (opts.verbose && res.ok())
        log::line(log::Level::info, "loaded " + opts.config + ": " + model_summary(res.model) + " in " +
                                        std::to_string(static_cast<long>(ms + 0.5)) + " ms");
    return res;
}

int run_check(const Options& opts, const loader::LoadOptions& lo) {
    loader::LoadResult res = load(opts, lo);
    for (const auto& e : res.errors) std::cerr << e.str() << '\n';
    if (!res.ok()) {
        std::cerr << "nfgate: " << opts.config << ": " << res.errors.size() << " error(s), nothing would be applied\n";
        return 1;
    }
    print_status("nfgate: config ok: " + model_summary(res.model));
    return 0;
}

int run_once(const Options& opts, const loader::LoadOptions& lo) {
    loader::LoadResult res = load(opts, lo);
    if (!res.ok()) {
        for (const auto& e : res.errors) std::cerr << e.str() << '\n';
        return 1;
    }
    nft::OwnerLock owner;
    nft::KernelPath kernel;
    std::string err;
    if (!owner.acquire(err) || !kernel.apply(res.model, err)) {
        std::cerr << "nfgate: apply failed: " << err << '\n';
        return 1;
    }
    return 0;
}

int run_cleanup() {
    std::string err;
    if (!nft::KernelPath::cleanup(err)) {
        std::cerr << "nfgate: cleanup failed: " << err << '\n';
        return 1;
    }
    return 0;
}

// Follows control.socket across reloads: a changed path is opened before the old one closes;
// if it cannot be opened the old socket keeps serving.
void follow_control_socket(api::ApiListener& api, const Model& m) {
    if (m.control.socket == api.path()) return;
    api::ApiListener next;
    std::string err;
    if (!next.open(m.control.socket, err)) {
        log::line(log::Level::warning, "control socket stays at " + api.path() + ": " + err);
        return;
    }
    api.swap(next);
}

int run_daemon(const Options& opts, const loader::LoadOptions& lo) {
    // With a kubernetes section, the files are kept as read (sources) and the cluster's objects
    // join them at every apply; the first apply waits a little for the first lists.
    constexpr auto kFirstSyncWait = std::chrono::seconds(5);
    loader::LoadedSources sources;
    ClusterFollower follower;
    loader::LoadResult first = load(opts, lo, &sources, &follower);
    if (first.ok() && follower.active()) {
        if (!follower.wait_synced(std::chrono::steady_clock::now() + kFirstSyncWait))
            log::line(log::Level::warning, "kubernetes: the API server has not answered yet; serving the files' objects until it does");
        first = compose(opts, sources, &follower);
        if (first.ok()) follower.applied(std::chrono::steady_clock::now());
    }
    if (!first.ok()) {
        for (const auto& e : first.errors) log::line(log::Level::error, e.str());
        notify::status("config rejected: " + first.errors.front().str());
        return 1;
    }
    // Signals and the control socket before the data path: a second daemon pointed at the same
    // socket stops here, before it touches a ruleset or a port.
    std::string err;
    EventWaiter events;
    api::ApiListener api;
    DaemonMetrics metrics;
    if (!events.init(err) || !api.open(first.model.control.socket, err) ||
        !metrics.start(first.model.control.metrics_address, err)) {
        log::line(log::Level::error, err);
        notify::status(err);
        return 1;
    }
    auto dp = make_dataplane(first.model.dataplane);
    GatewayController controller(*dp);
    auto sync_started = std::chrono::steady_clock::now();
    Outcome started = controller.start(first);
    if (started.ok) metrics.observe_sync(seconds_since(sync_started));
    if (!started.ok) {
        print_details(started.details, log::Level::error);
        log::line(log::Level::error, started.status);
        notify::status(started.status);
        return 1;
    }
    // BGP follows every model the data path took; BIRD's trouble never fails a (re)load.
    bgp::BirdSpeaker speaker;
    auto follow_bgp = [&]() {
        const Model& m = *controller.current();
        if (m.bgp.enabled && m.dataplane == DataplaneKind::dpdk && !m.exception_path && !speaker.enabled())
            log::line(log::Level::notice, "bgp: with exceptionPath: false the fast path's ports carry no BGP; "
                                          "BIRD reaches its peers only through other kernel interfaces");
        std::string berr;
        if (!speaker.apply(m, berr)) log::line(log::Level::warning, "bgp: " + berr);
    };
    follow_bgp();
    auto reload = [&]() {
        notify::reloading("reloading " + opts.config);
        loader::LoadedSources fresh;
        loader::LoadResult loaded = load(opts, lo, &fresh, &follower);
        if (loaded.ok()) {
            sources = std::move(fresh);
            follower.applied(std::chrono::steady_clock::now());
        }
        const auto t0 = std::chrono::steady_clock::now();
        Outcome reloaded = controller.reload(loaded);
        if (reloaded.ok) metrics.observe_sync(seconds_since(t0));
        print_details(reloaded.details);
        print_status(reloaded.status, reloaded.ok ? log::Level::notice : log::Level::warning);
        notify::ready(notify::serving_status(*controller.current(), reloaded.status));
        if (reloaded.ok) {
            follow_bgp();
            follow_control_socket(api, *controller.current());
            std::string merr;
            if (!metrics.follow(controller.current()->control.metrics_address, merr))
                log::line(log::Level::warning, "metrics stay at " + metrics.address() + ": " + merr);
        }
        return reloaded;
    };
    DaemonApi daemon_api(opts.config, controller, *dp, [&]() { return reload(); });
    daemon_api.set_bgp(&speaker);
    const api::Handler handler = [&](const api::Json& req, std::unique_ptr<api::Reply>& later) {
        return daemon_api.handle(req, later);
    };
    auto refresh_metrics = [&](const std::optional<fastpath::Counters>& c) {
        if (!metrics.running()) return;
        std::vector<FrontendTraffic> traffic;
        std::string terr;
        if (!dp->frontend_traffic(traffic, terr)) traffic.clear();
        metrics.set_bgp(speaker.enabled() ? std::optional(bgp_figures(speaker)) : std::nullopt);
        metrics.set_kubernetes(follower.figures());
        if (!c && controller.current()->syn_proxy != SynProxyMode::automatic)
            metrics.set_kernel_flood(dp->flood_figures(*controller.current()), dp->kernel_syn_proxy());
        metrics.refresh(*controller.current(), daemon_api.status(), c, traffic);
    };
    refresh_metrics(dp->counters());
    print_status(started.status);
    notify::ready(notify::serving_status(*controller.current(), "started"));
    // Once a second the control thread samples the counters for the exhaustion log line.
    constexpr auto kSamplePeriod = std::chrono::seconds(1);
    ExhaustionLog exhaustion;
    SynFloodGuard syn_guard;
    // Both paths feed one guard: the fast path its counters, the kernel path conntrack and its
    // synproxy (read here once a second, and handed to the metrics as sampled).
    // The kernel path reads conntrack for the guard only when it decides (automatic): at 10k
    // Services that takes ~15 ms; a fixed switch needs no figures and /metrics reads them when scraped.
    auto guard_syn_floods = [&](const std::optional<fastpath::Counters>& c) {
        const Model& m = *controller.current();
        std::optional<nft::FloodFigures> kernel;
        if (!c && m.syn_proxy == SynProxyMode::automatic && !(kernel = dp->flood_figures(m))) return;
        const SynFloodGuard::Decision d =
            c || kernel ? syn_guard.sample(c ? flood_sample(*c) : flood_sample(*kernel), m.syn_proxy, m.syn_proxy_threshold())
                        : syn_guard.fixed(m.syn_proxy);
        dp->set_syn_proxy(d.on);
        if (!d.line.empty()) log::line(log::Level::notice, d.line);
        if (kernel) metrics.set_kernel_flood(kernel, dp->kernel_syn_proxy());
    };
    const auto first_counters = dp->counters();
    if (first_counters) exhaustion.sample(*first_counters, 0);
    guard_syn_floods(first_counters);
    auto sampled = std::chrono::steady_clock::now();
    // While a capture runs the copies are drained every few milliseconds, not once a second.
    constexpr auto kCapturePoll = std::chrono::milliseconds(5);
    auto next_wake = [&]() {
        auto tick = sampled + kSamplePeriod;
        if (auto due = follower.due(); due && follower.active()) tick = std::min(tick, std::max(*due, std::chrono::steady_clock::now()));
        if (!daemon_api.capture().active()) return tick;
        return std::min(tick, std::chrono::steady_clock::now() + kCapturePoll);
    };
    // A cluster change goes through the same incremental path as a reload, at most once per
    // minSyncPeriod; a refused model (the files' own errors) leaves the model in force.
    auto apply_cluster = [&]() {
        const auto t0 = std::chrono::steady_clock::now();
        loader::LoadResult merged = compose(opts, sources, &follower);
        follower.applied(t0);
        Outcome applied = controller.reload(merged);
        if (applied.ok) {
            const double took = seconds_since(t0);
            metrics.observe_sync(took);
            const auto since_change = follower.live(std::chrono::steady_clock::now());
            follow_bgp();
            if (opts.verbose)
                log::line(log::Level::info, std::string("kubernetes: applied (") +
                                                (follower.incremental() ? "incremental" : "whole cluster") + ") in " +
                                                milliseconds_text(took) + " ms" +
                                                (since_change ? ", " + milliseconds_text(*since_change) + " ms after the change" : "") +
                                                ": " + model_summary(*controller.current()));
        } else {
            print_details(applied.details);
            log::line(log::Level::warning, "kubernetes: change not applied: " + applied.status);
        }
    };
    // /metrics is collected when scraped (at 10k Services reading the per-Service counters takes
    // tens of milliseconds: once a second it would hold back cluster changes arriving meanwhile).
    for (Event ev; (ev = events.wait(api.fd(), next_wake(), follower.fd(), metrics.wanted_fd())) != Event::stop;) {
        daemon_api.capture().poll(*dp);
        if (ev == Event::kube) follower.drain();
        if (follower.ready(std::chrono::steady_clock::now())) apply_cluster();
        if (ev == Event::reload) {
            daemon_api.run_reload();
        } else if (ev == Event::api) {
            api.serve_pending(handler);
        } else if (ev == Event::metrics) {
            metrics.take_wanted();
            refresh_metrics(dp->counters());
        } else if (ev == Event::stats) {
            if (auto c = dp->counters()) log::lines(log::Level::info, "counters: ", counters_text(*c));
        } else if (std::chrono::steady_clock::now() >= sampled + kSamplePeriod) {
            auto now = std::chrono::steady_clock::now();
            auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - sampled).count();
            sampled = now;
            speaker.tick();
            const auto c = dp->counters();
            if (c) print_details(exhaustion.sample(*c, static_cast<unsigned>(secs < 1 ? 1 : secs)));
            guard_syn_floods(c);
            metrics.sample_workers(c);
        }
    }
    notify::stopping("stopping");
    daemon_api.capture().finish(*dp, "nfgate stopped");
    api.close();
    if (speaker.running()) {
        speaker.stop();  // withdraw while still forwarding: the routers move the traffic first
        log::line(log::Level::notice, "bgp: routes withdrawn, BIRD stopped");
    }
    dp->stop();
    // Read after stop: the workers have left their loops and published their last TX flush.
    if (auto c = dp->counters()) log::lines(log::Level::info, "counters at stop: ", counters_text(*c));
    log::line(log::Level::notice, "stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything can start a thread: every thread inherits this mask.
    if (!block_daemon_signals()) {
        std::perror("nfgate: cannot block signals");
        return 1;
    }
    Options opts;
    std::string help, err;
    if (!parse_options(argc, argv, opts, help, err)) {
        std::cerr << "nfgate: " << err << "\n\n" << help;
        return 2;
    }
    loader::LoadOptions lo{opts.dataplane};
    switch (opts.mode) {
        case Mode::help: std::cout << help; return 0;
        case Mode::check: return run_check(opts, lo);
        case Mode::once: lo.dataplane = DataplaneKind::kernel; return run_once(opts, lo);
        case Mode::cleanup: return run_cleanup();
        case Mode::run: return run_daemon(opts, lo);
    }
    return 1;
}

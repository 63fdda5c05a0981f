// nfgate: load the gateway file, start the chosen data path, reload on SIGHUP, stop on
// SIGTERM/SIGINT. Status lines scripts wait for go to stdout; everything else to stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "control/api/api_socket.hpp"
#include "control/daemon/api_handlers.hpp"
#include "control/daemon/counters_text.hpp"
#include "control/daemon/daemon_metrics.hpp"
#include "control/daemon/dataplane_adapters.hpp"
#include "control/daemon/event_loop.hpp"
#include "control/daemon/exhaustion_log.hpp"
#include "control/daemon/gateway_controller.hpp"
#include "control/daemon/options.hpp"
#include "control/daemon/signals.hpp"
#include "control/loader/config_loader.hpp"
#include "nft/kernel_path.hpp"
#include "nft/owner_lock.hpp"

using namespace nfgate;
using namespace nfgate::daemon;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void print_status(const std::string& line) {
    std::cout << line << std::endl;  // endl flushes: scripts block on this line
}

void print_details(const std::vector<std::string>& lines) {
    for (const auto& l : lines) std::cerr << l << '\n';
    std::cerr.flush();
}

loader::LoadResult load(const Options& opts, const loader::LoadOptions& lo) {
    auto t0 = std::chrono::steady_clock::now();
    loader::LoadResult res = loader::load_config(opts.config, lo);
    if (res.ok() && opts.control_socket) res.model.control.socket = *opts.control_socket;
    if (res.ok() && opts.metrics_address) res.model.control.metrics_address = *opts.metrics_address;
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (opts.verbose || opts.mode == Mode::check)
        for (const auto& n : res.notices) std::cerr << "notice: " << n.str() << '\n';
    if (opts.verbose && res.ok())
        std::cerr << "nfgate: loaded " << opts.config << ": " << model_summary(res.model) << " in " << ms << " ms\n";
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
        std::cerr << "nfgate: control socket stays at " << api.path() << ": " << err << '\n';
        return;
    }
    api.swap(next);
}

int run_daemon(const Options& opts, const loader::LoadOptions& lo) {
    loader::LoadResult first = load(opts, lo);
    if (!first.ok()) {
        for (const auto& e : first.errors) std::cerr << e.str() << '\n';
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
        std::cerr << "nfgate: " << err << '\n';
        return 1;
    }
    auto dp = make_dataplane(first.model.dataplane);
    GatewayController controller(*dp);
    auto sync_started = std::chrono::steady_clock::now();
    Outcome started = controller.start(first);
    if (started.ok) metrics.observe_sync(seconds_since(sync_started));
    if (!started.ok) {
        print_details(started.details);
        std::cerr << started.status << '\n';
        return 1;
    }
    auto reload = [&]() {
        loader::LoadResult loaded = load(opts, lo);
        const auto t0 = std::chrono::steady_clock::now();
        Outcome reloaded = controller.reload(loaded);
        if (reloaded.ok) metrics.observe_sync(seconds_since(t0));
        print_details(reloaded.details);
        print_status(reloaded.status);
        if (reloaded.ok) {
            follow_control_socket(api, *controller.current());
            std::string merr;
            if (!metrics.follow(controller.current()->control.metrics_address, merr))
                std::cerr << "nfgate: metrics stay at " << metrics.address() << ": " << merr << '\n';
        }
        return reloaded;
    };
    DaemonApi daemon_api(opts.config, controller, *dp, [&]() { return reload(); });
    const api::Handler handler = [&](const api::Json& req, std::unique_ptr<api::Reply>& later) {
        return daemon_api.handle(req, later);
    };
    auto refresh_metrics = [&]() { metrics.refresh(*controller.current(), daemon_api.status(), dp->counters()); };
    refresh_metrics();
    print_status(started.status);
    // Once a second the control thread samples the counters for the exhaustion log line.
    constexpr auto kSamplePeriod = std::chrono::seconds(1);
    ExhaustionLog exhaustion;
    if (auto c = dp->counters()) exhaustion.sample(*c, 0);
    auto sampled = std::chrono::steady_clock::now();
    // While a capture runs the copies are drained every few milliseconds, not once a second.
    constexpr auto kCapturePoll = std::chrono::milliseconds(5);
    auto next_wake = [&]() {
        const auto tick = sampled + kSamplePeriod;
        if (!daemon_api.capture().active()) return tick;
        return std::min(tick, std::chrono::steady_clock::now() + kCapturePoll);
    };
    for (Event ev; (ev = events.wait(api.fd(), next_wake())) != Event::stop;) {
        daemon_api.capture().poll(*dp);
        if (ev == Event::reload) {
            daemon_api.run_reload();
            refresh_metrics();
        } else if (ev == Event::api) {
            api.serve_pending(handler);
            refresh_metrics();  // an API reload changes what /metrics says
        } else if (ev == Event::stats) {
            if (auto c = dp->counters()) std::cerr << counters_text(*c) << std::flush;
        } else if (std::chrono::steady_clock::now() >= sampled + kSamplePeriod) {
            auto now = std::chrono::steady_clock::now();
            auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - sampled).count();
            sampled = now;
            const auto c = dp->counters();
            if (c) print_details(exhaustion.sample(*c, static_cast<unsigned>(secs < 1 ? 1 : secs)));
            metrics.refresh(*controller.current(), daemon_api.status(), c);
        }
    }
    daemon_api.capture().finish(*dp, "nfgate stopped");
    api.close();
    dp->stop();
    // Read after stop: the workers have left their loops and published their last TX flush.
    if (auto c = dp->counters()) std::cerr << "nfgate: counters at stop\n" << counters_text(*c);
    std::cerr << "nfgate: stopped\n";
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

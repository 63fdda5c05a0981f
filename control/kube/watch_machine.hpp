// The list-then-watch cycle of one resource, as client-go's reflector runs it, without I/O:
// which request comes next and when, given what the last one answered. The clock and the
// jitter are handed in, so tests drive it through outages, 410s and re-watches exactly.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "control/kube/api_decode.hpp"

namespace nfgate::kube {

using Clock = std::chrono::steady_clock;

struct WatchTiming {
    unsigned list_limit = 500;                 // items per list page (`limit`)
    unsigned watch_timeout_s = 300;            // `timeoutSeconds`: the server ends each watch by then
    std::chrono::milliseconds backoff_first{500};
    std::chrono::milliseconds backoff_cap{30'000};
    // A watch that ends this soon after it began, with nothing received, counts as a failure:
    // an API server (or a proxy) closing every watch at once must not be hammered.
    std::chrono::milliseconds short_watch{1000};
};

class WatchMachine {
public:
    enum class Phase { listing, watching };
    struct Request {
        Phase phase = Phase::listing;
        std::string target;  // path and query: "/api/v1/services?limit=500"
        Clock::time_point not_before;
    };

    // `jitter` returns a number in [0, 1); each backoff is scaled into [delay/2, delay).
    WatchMachine(Resource resource, WatchTiming timing, std::function<double()> jitter);

    Request next() const;
    Phase phase() const { return phase_; }
    const std::string& resource_version() const { return rv_; }
    unsigned failures() const { return failures_; }

    // A list page arrived (HTTP 200). The last page (no continue token) starts the watch.
    void on_list_page(const std::string& resource_version, const std::string& continue_token);
    // The watch stream was accepted (HTTP 200) at `now`.
    void on_watch_started(Clock::time_point now);
    // An event or a bookmark: the watch goes on from its resourceVersion.
    void on_event(const std::string& resource_version);
    // The server ended the watch (timeoutSeconds, or it closed the stream cleanly).
    void on_watch_end(Clock::time_point now);
    // 410 Gone (as the HTTP status or an ERROR event): the resourceVersion is too old; list again.
    void on_gone(Clock::time_point now);
    // No answer, a broken stream, an HTTP error: retry after a jittered, growing delay. A list
    // broken off between pages starts over (its continue token may have expired too).
    void on_failure(Clock::time_point now);

    std::chrono::milliseconds last_backoff() const { return last_backoff_; }

private:
    void back_off(Clock::time_point now);

    Resource resource_;
    WatchTiming timing_;
    std::function<double()> jitter_;
    Phase phase_ = Phase::listing;
    std::string rv_;
    std::string continue_;
    unsigned failures_ = 0;
    bool received_ = false;
    Clock::time_point watch_started_{};
    Clock::time_point not_before_{};
    std::chrono::milliseconds last_backoff_{0};
};

}  // namespace nfgate::kube

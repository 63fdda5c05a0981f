#include "control/kube/watch_machine.hpp"

#include <algorithm>

namespace nfgate::kube {

namespace {

const char* collection_path(Resource r) {
    return r == Resource::services ? "/api/v1/services" : "/apis/discovery.k8s.io/v1/endpointslices";
}

// Continue tokens and resourceVersions are opaque; they go into a query string escaped.
std::string escape(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace

WatchMachine::WatchMachine(Resource resource, WatchTiming timing, std::function<double()> jitter)
    : resource_(resource), timing_(timing), jitter_(std::move(jitter)) {}

WatchMachine::Request WatchMachine::next() const {
    Request req;
    req.phase = phase_;
    req.not_before = not_before_;
    req.target = collection_path(resource_);
    if (phase_ == Phase::listing) {
        req.target += "?limit=" + std::to_string(timing_.list_limit);
        if (!continue_.empty()) req.target += "&continue=" + escape(continue_);
    } else {
        req.target += "?watch=1&allowWatchBookmarks=true&resourceVersion=" + escape(rv_) +
                      "&timeoutSeconds=" + std::to_string(timing_.watch_timeout_s);
    }
    return req;
}

void WatchMachine::on_list_page(const std::string& resource_version, const std::string& continue_token) {
    failures_ = 0;
    continue_ = continue_token;
    if (!continue_.empty()) return;
    // The list's resourceVersion (the last page's) is the state it showed: watch from there.
    rv_ = resource_version;
    phase_ = Phase::watching;
}

void WatchMachine::on_watch_started(Clock::time_point now) {
    watch_started_ = now;
    received_ = false;
}

void WatchMachine::on_event(const std::string& resource_version) {
    received_ = true;
    failures_ = 0;
    if (!resource_version.empty()) rv_ = resource_version;
}

void WatchMachine::on_watch_end(Clock::time_point now) {
    if (!received_ && now - watch_started_ < timing_.short_watch) {
        back_off(now);
        return;
    }
    failures_ = 0;
    not_before_ = now;  // re-watch at once from the last resourceVersion
}

void WatchMachine::on_gone(Clock::time_point now) {
    phase_ = Phase::listing;
    continue_.clear();
    rv_.clear();
    not_before_ = now;
}

void WatchMachine::on_failure(Clock::time_point now) {
    if (phase_ == Phase::listing) continue_.clear();
    back_off(now);
}

void WatchMachine::back_off(Clock::time_point now) {
    ++failures_;
    using ms = std::chrono::milliseconds;
    const unsigned doublings = std::min(failures_ - 1, 20u);
    ms delay = std::min<ms>(timing_.backoff_cap, timing_.backoff_first * (int64_t{1} << doublings));
    const double j = jitter_ ? std::clamp(jitter_(), 0.0, 1.0) : 0.0;
    last_backoff_ = ms(static_cast<int64_t>(static_cast<double>(delay.count()) * (0.5 + j / 2)));
    not_before_ = now + last_backoff_;
}

}  // namespace nfgate::kube

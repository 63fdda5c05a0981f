#include "control/kube/api_client.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "control/kube/api_transport.hpp"

namespace nfgate::kube {

namespace {

constexpr std::chrono::seconds kListTimeout{60};
// The server ends a watch after timeoutSeconds; the transfer's own limit only catches a server
// that does not.
constexpr std::chrono::seconds kWatchGrace{30};

std::string describe(const ApiTransport::Result& r) {
    if (!r.error.empty()) return r.error;
    std::string body = r.body.substr(0, 200);
    for (char& c : body)
        if (c == '\n') c = ' ';
    return "HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body);
}

}  // namespace

ApiClient::ApiClient(ApiEndpoint endpoint, Model gateway, WatchTiming timing)
    : endpoint_(std::move(endpoint)), gateway_(std::move(gateway)), timing_(timing) {
    gateway_.services.clear();
}

ApiClient::~ApiClient() {
    stop();
    if (efd_ >= 0) ::close(efd_);
}

bool ApiClient::start(std::string& err) {
    efd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd_ < 0) {
        err = std::string("eventfd: ") + std::strerror(errno);
        return false;
    }
    for (Resource r : {Resource::services, Resource::endpoint_slices}) threads_.emplace_back([this, r] { run(r); });
    return true;
}

void ApiClient::stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

void ApiClient::wake() {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(efd_, &one, sizeof one);
}

void ApiClient::push(Change change) {
    {
        std::lock_guard lock(mu_);
        pending_.changes.push_back(std::move(change));
    }
    wake();
}

void ApiClient::note(std::string line) {
    {
        std::lock_guard lock(mu_);
        pending_.log.push_back(std::move(line));
    }
    wake();
}

ApiClient::Pending ApiClient::take() {
    uint64_t n;
    [[maybe_unused]] auto r = ::read(efd_, &n, sizeof n);
    std::lock_guard lock(mu_);
    return std::exchange(pending_, Pending{});
}

bool ApiClient::sleep_until(Clock::time_point t) {
    std::unique_lock lock(mu_);
    return !cv_.wait_until(lock, t, [this] { return stop_.load(); });
}

std::vector<metrics::KubernetesFigures::Resource> ApiClient::figures() const {
    std::vector<metrics::KubernetesFigures::Resource> out;
    for (Resource r : {Resource::services, Resource::endpoint_slices}) {
        const Stats& s = stats_[static_cast<size_t>(r)];
        const uint64_t lists = s.lists.load();
        out.push_back({resource_name(r), s.up.load(), s.errors.load(), s.events.load(), lists > 0 ? lists - 1 : 0});
    }
    return out;
}

void ApiClient::run(Resource resource) {
    Stats& stats = stats_[static_cast<size_t>(resource)];
    std::mt19937_64 rng(std::random_device{}());
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    WatchMachine machine(resource, timing_, [&] { return unit(rng); });
    ApiTransport transport(endpoint_);
    const std::string name = resource_name(resource);
    std::vector<DecodedObject> listed;
    unsigned failures_logged = 0;

    auto failed = [&](const std::string& why) {
        stats.errors++;
        machine.on_failure(Clock::now());
        // The first failure of an outage, then every tenth retry: an outage is a few lines, not a flood.
        const unsigned n = machine.failures();
        if (stats.up.exchange(false) || n == 1 || n % 10 == 0) {
            ++failures_logged;
            note("kubernetes: " + name + ": " + why + " (the last state keeps serving; retry " + std::to_string(n) +
                 " in " + std::to_string(machine.last_backoff().count()) + " ms)");
        }
    };
    auto answered = [&] {
        if (!stats.up.exchange(true) && failures_logged > 0)
            note("kubernetes: " + name + ": the API server answers again (" + endpoint_.server + ")");
    };

    while (!stop_) {
        const WatchMachine::Request req = machine.next();
        if (!sleep_until(req.not_before)) break;
        if (req.phase == WatchMachine::Phase::listing) {
            if (req.target.find("continue=") == std::string::npos) listed.clear();
            ApiTransport::Result r = transport.get(req.target, {}, stop_, kListTimeout);
            if (stop_) break;
            ListPage page;
            std::string err;
            if (r.status == 410) {
                // The continue token expired: list from the start, after a pause (a server that
                // keeps answering 410 must not be hammered).
                failed("list page expired (410): listing from the start");
            } else if (r.status != 200 || !r.error.empty()) {
                failed("list failed: " + describe(r));
            } else if (!decode_list(r.body, resource, gateway_, page, err)) {
                failed("list answer unreadable: " + err);
            } else {
                answered();
                for (auto& item : page.items) listed.push_back(std::move(item));
                machine.on_list_page(page.resource_version, page.continue_token);
                if (page.continue_token.empty()) {
                    stats.lists++;
                    listed_[static_cast<size_t>(resource)] = true;
                    push(Change{Change::Op::replace, resource, std::move(listed)});
                    listed.clear();
                }
            }
            continue;
        }
        bool gone = false;
        std::string stream_error;
        const ApiTransport::LineHandler on_line = [&](std::string_view line) {
            const auto received = std::chrono::steady_clock::now();
            WatchEvent ev;
            std::string err;
            if (!decode_event(line, resource, gateway_, ev, err)) {
                stream_error = "watch event unreadable: " + err;
                return false;
            }
            stats.events++;
            switch (ev.type) {
                case WatchEvent::Type::error:
                    if (ev.code == 410) gone = true;
                    else stream_error = "watch error " + std::to_string(ev.code) + ": " + ev.message;
                    return false;
                case WatchEvent::Type::bookmark: break;
                case WatchEvent::Type::deleted:
                    push(Change{Change::Op::remove, resource, {std::move(ev.object)}, received});
                    break;
                default: push(Change{Change::Op::upsert, resource, {std::move(ev.object)}, received}); break;
            }
            machine.on_event(ev.resource_version);
            answered();
            return true;
        };
        machine.on_watch_started(Clock::now());
        ApiTransport::Result r =
            transport.get(req.target, on_line, stop_, std::chrono::seconds(timing_.watch_timeout_s) + kWatchGrace);
        if (stop_) break;
        if (gone || r.status == 410) {
            note("kubernetes: " + name + ": resourceVersion " + machine.resource_version() + " is gone (410): listing again");
            machine.on_gone(Clock::now());
        } else if (!stream_error.empty()) {
            failed(stream_error);
        } else if (r.status != 200 || !r.error.empty()) {
            failed("watch failed: " + describe(r));
        } else {
            answered();
            machine.on_watch_end(Clock::now());
        }
    }
}

}  // namespace nfgate::kube

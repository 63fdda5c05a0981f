// What wakes the control thread: a daemon signal (read from a signalfd, the signals themselves
// stay blocked in every thread), a control API client, or the next once-a-second deadline.
#pragma once

#include <chrono>
#include <string>

namespace nfgate::daemon {

enum class Event { reload, stop, stats, tick, api, kube, metrics };

class EventWaiter {
public:
    EventWaiter() = default;
    ~EventWaiter();
    EventWaiter(const EventWaiter&) = delete;
    EventWaiter& operator=(const EventWaiter&) = delete;

    // Opens the signalfd for SIGHUP, SIGTERM, SIGINT and SIGUSR1 (block_daemon_signals first).
    bool init(std::string& err);

    // Returns the next event: a signal, `api_fd` readable (-1: none), `kube_fd` readable (the
    // API client's changes; -1: none), `metrics_fd` readable (a scrape waits; -1: none), or
    // `tick` once `deadline` has passed. Interruptions by other signals (the TAP driver's per-packet RT signal among
    // them) do not move the deadline: the tick comes on time under any signal load.
    Event wait(int api_fd, std::chrono::steady_clock::time_point deadline, int kube_fd = -1, int metrics_fd = -1);

private:
    int sigfd_ = -1;
};

}  // namespace nfgate::daemon

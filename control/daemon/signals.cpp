#include "control/daemon/signals.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>

namespace nfgate::daemon {

namespace {

sigset_t daemon_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    return set;
}

}  // namespace

bool block_daemon_signals() {
    sigset_t set = daemon_signals();
    return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}

SignalEvent wait_for_signal(int timeout_ms) {
    using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, the clock sigtimedwait waits on
    sigset_t set = daemon_signals();
    // A deadline, not a timeout per call: a signal outside the set interrupts sigtimedwait
    // (EINTR), and the TAP driver raises one (SIGIO) per received packet. Waiting the whole
    // timeout again after each would hold the tick back for as long as packets flow.
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()).count();
        if (left <= 0) return SignalEvent::tick;
        const timespec timeout{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
        int sig = sigtimedwait(&set, nullptr, &timeout);
        if (sig == SIGHUP) return SignalEvent::reload;
        if (sig == SIGTERM || sig == SIGINT) return SignalEvent::stop;
        if (sig == SIGUSR1) return SignalEvent::stats;
        if (sig < 0 && errno == EAGAIN) return SignalEvent::tick;
        // EINTR: a signal outside the set interrupted the wait; wait for what is left.
    }
}

}  // namespace nfgate::daemon

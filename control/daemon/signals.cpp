#include "control/daemon/signals.hpp"

#include <cerrno>
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
    sigset_t set = daemon_signals();
    const timespec timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    for (;;) {
        int sig = sigtimedwait(&set, nullptr, &timeout);
        if (sig == SIGHUP) return SignalEvent::reload;
        if (sig == SIGTERM || sig == SIGINT) return SignalEvent::stop;
        if (sig == SIGUSR1) return SignalEvent::stats;
        if (sig < 0 && errno == EAGAIN) return SignalEvent::tick;
        // EINTR: a signal outside the set (e.g. from a debugger) interrupted the wait.
    }
}

}  // namespace nfgate::daemon

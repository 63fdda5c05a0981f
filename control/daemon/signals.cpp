#include "control/daemon/signals.hpp"

#include <csignal>

namespace nfgate::daemon {

namespace {

sigset_t daemon_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

}  // namespace

bool block_daemon_signals() {
    sigset_t set = daemon_signals();
    return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}

SignalEvent wait_for_signal() {
    sigset_t set = daemon_signals();
    for (;;) {
        int sig = sigwaitinfo(&set, nullptr);
        if (sig == SIGHUP) return SignalEvent::reload;
        if (sig == SIGTERM || sig == SIGINT) return SignalEvent::stop;
        // EINTR: a signal outside the set (e.g. from a debugger) interrupted the wait.
    }
}

}  // namespace nfgate::daemon

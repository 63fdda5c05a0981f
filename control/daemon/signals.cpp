#include "control/daemon/signals.hpp"

#include <pthread.h>

namespace nfgate::daemon {

sigset_t daemon_signal_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    return set;
}

bool block_daemon_signals() {
    sigset_t set = daemon_signal_set();
    return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}

}  // namespace nfgate::daemon

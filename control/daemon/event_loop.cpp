#include "control/daemon/event_loop.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control/daemon/signals.hpp"

namespace nfgate::daemon {

EventWaiter::~EventWaiter() {
    if (sigfd_ >= 0) ::close(sigfd_);
}

bool EventWaiter::init(std::string& err) {
    sigset_t set = daemon_signal_set();
    sigfd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd_ < 0) {
        err = std::string("signalfd: ") + std::strerror(errno);
        return false;
    }
    return true;
}

Event EventWaiter::wait(int api_fd, std::chrono::steady_clock::time_point deadline, int kube_fd, int metrics_fd) {
    using namespace std::chrono;
    for (;;) {
        // A pending signal first: a stop must not wait behind a busy API client.
        signalfd_siginfo si;
        if (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            switch (si.ssi_signo) {
                case SIGHUP: return Event::reload;
                case SIGTERM:
                case SIGINT: return Event::stop;
                case SIGUSR1: return Event::stats;
                default: continue;
            }
        }
        const auto now = steady_clock::now();
        if (now >= deadline) return Event::tick;
        // Rounded up: waking a little late is a tick on the next pass, never one early.
        const auto left = ceil<milliseconds>(deadline - now).count();
        // poll() skips entries whose fd is negative.
        pollfd fds[4] = {{sigfd_, POLLIN, 0}, {api_fd, POLLIN, 0}, {kube_fd, POLLIN, 0}, {metrics_fd, POLLIN, 0}};
        const int n = ::poll(fds, 4, static_cast<int>(left));
        if (n > 0 && !(fds[0].revents & POLLIN)) {
            if (kube_fd >= 0 && (fds[2].revents & POLLIN)) return Event::kube;
            if (api_fd >= 0 && (fds[1].revents & POLLIN)) return Event::api;
            if (metrics_fd >= 0 && (fds[3].revents & POLLIN)) return Event::metrics;
        }
        // n == 0: deadline (checked at the top); EINTR: some other signal, the deadline holds.
    }
}

}  // namespace nfgate::daemon

// Signals are taken synchronously by the control thread: SIGHUP, SIGTERM, SIGINT and SIGUSR1 are
// blocked before any other thread exists (DPDK starts its lcore threads in rte_eal_init, and they
// inherit the mask), then read from a signalfd (event_loop.hpp).
#pragma once

#include <csignal>

namespace nfgate::daemon {

// SIGHUP, SIGTERM, SIGINT and SIGUSR1.
sigset_t daemon_signal_set();

// Blocks the daemon's signals in the calling thread; call first thing in main.
bool block_daemon_signals();

}  // namespace nfgate::daemon

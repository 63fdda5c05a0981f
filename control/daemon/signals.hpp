// Signals are taken synchronously in the main thread: SIGHUP, SIGTERM and SIGINT are blocked
// before any other thread exists (DPDK starts its lcore threads in rte_eal_init, and they inherit
// the mask), then the main thread waits for them with sigwaitinfo.
#pragma once

namespace nfgate::daemon {

enum class SignalEvent { reload, stop };

// Blocks the daemon's signals in the calling thread; call first thing in main.
bool block_daemon_signals();

// Waits for the next SIGHUP (reload) or SIGTERM/SIGINT (stop).
SignalEvent wait_for_signal();

}  // namespace nfgate::daemon

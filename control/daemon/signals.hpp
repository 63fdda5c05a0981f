// Signals are taken synchronously in the main thread: SIGHUP, SIGTERM, SIGINT and SIGUSR1 are blocked
// before any other thread exists (DPDK starts its lcore threads in rte_eal_init, and they inherit
// the mask), then the main thread waits for them with sigtimedwait.
#pragma once

namespace nfgate::daemon {

enum class SignalEvent { reload, stop, stats, tick };

// Blocks the daemon's signals in the calling thread; call first thing in main.
bool block_daemon_signals();

// Waits for the next SIGHUP (reload), SIGTERM/SIGINT (stop) or SIGUSR1 (print counters), at most
// `timeout_ms` (then: tick, the control thread's chance to sample counters). `timeout_ms` is a
// deadline: other signals that interrupt the wait (handled ones, e.g. the TAP driver's SIGIO)
// do not postpone the tick.
SignalEvent wait_for_signal(int timeout_ms);

}  // namespace nfgate::daemon

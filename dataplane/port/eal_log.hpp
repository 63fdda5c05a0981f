// Where DPDK's own log messages go. Left alone, EAL writes each one to stderr and to syslog: no
// "nfgate: " prefix, and under systemd every message twice in the journal. With a sink set
// before FastPath::start, init_eal points DPDK's log stream at it instead: every message, with
// its syslog priority, goes to the sink and nowhere else.
#pragma once

#include <string>
#include <string_view>

namespace nfgate::port {

// `message` may hold several lines; `syslog_priority` is 0 (emergency) to 7 (debug). Called
// on whichever thread logged, workers included: it must not block.
using EalLogSink = void (*)(int syslog_priority, std::string_view message);

void set_eal_log_sink(EalLogSink sink);

// Called by init_eal before rte_eal_init: routes DPDK's log to the sink when one is set.
// False with err when the stream cannot be made.
bool route_eal_log(std::string& err);

}  // namespace nfgate::port

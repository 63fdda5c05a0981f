// What systemd is told about the daemon's state (sd_notify(3), for a unit of Type=notify):
// READY=1 once it forwards, RELOADING=1 and READY=1 around each reload, STOPPING=1 at stop, and
// a STATUS= line saying what it does (`systemctl status nfgate`). Without NOTIFY_SOCKET (not
// started by systemd) every call does nothing; a notification that cannot be sent is not an
// error either: it costs systemd's view of the state, never forwarding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/model.hpp"

namespace nfgate::daemon::notify {

// Serving: READY=1 and STATUS=`status`. Sent after the start and after every reload, whatever
// its outcome (a rejected reload leaves the old configuration serving).
void ready(std::string_view status);

// RELOADING=1, MONOTONIC_USEC=now (CLOCK_MONOTONIC, which systemd matches against the reload it
// asked for) and STATUS=`status`. Sent before a reload reads the gateway file.
void reloading(std::string_view status);

// STOPPING=1 and STATUS=`status`, once the stop has begun.
void stopping(std::string_view status);

// STATUS=`status` alone (starting, a failed start).
void status(std::string_view status);

// The STATUS text while a configuration serves: "<data path>: N Services, ... ; <last event>".
std::string serving_status(const Model& m, std::string_view last_event);

// The datagrams above, for tests: fields one per line, newlines inside `status` made spaces.
std::string ready_message(std::string_view status);
std::string reloading_message(uint64_t monotonic_usec, std::string_view status);
std::string stopping_message(std::string_view status);

}  // namespace nfgate::daemon::notify

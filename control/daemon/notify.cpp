#include "control/daemon/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include "control/daemon/gateway_controller.hpp"

namespace nfgate::daemon::notify {

namespace {

std::string status_field(std::string_view status) {
    std::string out = "STATUS=";
    for (char c : status) out.push_back(c == '\n' ? ' ' : c);  // the protocol is one field per line
    return out;
}

uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void send(const std::string& message) {
    // unset_environment = 0: NOTIFY_SOCKET must stay for the notifications that follow.
    (void)sd_notify(0, message.c_str());
}

}  // namespace

std::string ready_message(std::string_view status) { return "READY=1\n" + status_field(status); }

std::string reloading_message(uint64_t usec, std::string_view status) {
    return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\n" + status_field(status);
}

std::string stopping_message(std::string_view status) { return "STOPPING=1\n" + status_field(status); }

void ready(std::string_view s) { send(ready_message(s)); }
void reloading(std::string_view s) { send(reloading_message(monotonic_usec(), s)); }
void stopping(std::string_view s) { send(stopping_message(s)); }
void status(std::string_view s) { send(status_field(s)); }

std::string serving_status(const Model& m, std::string_view last_event) {
    const std::string path = m.dataplane == DataplaneKind::dpdk ? "fast path" : "kernel path";
    return "serving on the " + path + ": " + model_summary(m) + "; " + std::string(last_event);
}

}  // namespace nfgate::daemon::notify

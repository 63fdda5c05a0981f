#include "dataplane/port/eal_log.hpp"

#include <cstdio>
#include <string>

#include <rte_log.h>

namespace nfgate::port {

namespace {

EalLogSink g_sink = nullptr;

// rte_vlog formats a message into the stream and flushes it on the thread that logs, so each
// write here is one message (rarely a part of one longer than the stream's buffer), and the
// level of the message being written is that thread's rte_log_cur_msg_loglevel().
ssize_t write_to_sink(void*, const char* buf, size_t size) {
    // RTE_LOG_EMERG (1) .. RTE_LOG_DEBUG (8) are syslog's 0 .. 7 shifted by one.
    const int level = rte_log_cur_msg_loglevel();
    const int priority = level >= 1 && level <= 8 ? level - 1 : 6;
    if (g_sink != nullptr) g_sink(priority, std::string_view(buf, size));
    return static_cast<ssize_t>(size);
}

}  // namespace

void set_eal_log_sink(EalLogSink sink) { g_sink = sink; }

bool route_eal_log(std::string& err) {
    if (g_sink == nullptr) return true;
    // Made once and never closed: DPDK keeps the pointer for the life of the process and may log
    // from any thread until the very end (rte_eal_cleanup closes only its own default stream).
    static FILE* stream = nullptr;
    if (stream != nullptr) return true;
    stream = fopencookie(nullptr, "w", cookie_io_functions_t{nullptr, &write_to_sink, nullptr, nullptr});
    if (stream == nullptr) {
        err = "eal: cannot make the stream DPDK logs into";
        return false;
    }
    rte_openlog_stream(stream);
    return true;
}

}  // namespace nfgate::port

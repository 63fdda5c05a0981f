// Which model changes a running fast path cannot take without a restart. Which data path runs
// at all is the daemon's choice, checked there (control/daemon/dataplane.cpp).
#include "dataplane/fast_path.hpp"

namespace nfgate::fastpath {

std::string FastPath::restart_reason(const Model& running, const Model& next) {
    const char* tail = " changed: EAL, queues and preallocated tables are set up once at start; "
                       "restart nfgate to apply it";
    if (next.eal_args != running.eal_args) return std::string("eal") + tail;
    if (next.workers != running.workers) return std::string("workers") + tail;
    if (next.max_flows != running.max_flows) return std::string("conntrack.maxFlows") + tail;
    if (next.exception_path != running.exception_path) return std::string("exceptionPath") + tail;
    // The exception path's kernel interfaces hold the routes as they were at start.
    if (next.exception_path && next.routes != running.routes)
        return std::string("routes (with exceptionPath: the kernel's routes through its interfaces)") + tail;
    if (next.interfaces.size() != running.interfaces.size())
        return std::string("interfaces (count)") + tail;
    for (size_t i = 0; i < next.interfaces.size(); ++i)
        if (!(next.interfaces[i] == running.interfaces[i]))
            return "interfaces[" + std::to_string(i) + "] (" + running.interfaces[i].name + ")" + tail;
    return {};
}

}  // namespace nfgate::fastpath

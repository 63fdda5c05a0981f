#include "control/daemon/dataplane.hpp"

namespace nfgate::daemon {

namespace {

const char* dataplane_name(DataplaneKind k) { return k == DataplaneKind::kernel ? "kernel" : "dpdk"; }

}  // namespace

std::string Dataplane::restart_reason(const Model& running, const Model& next) const {
    if (next.dataplane != running.dataplane)
        return std::string("dataplane changed from ") + dataplane_name(running.dataplane) + " to " +
               dataplane_name(next.dataplane) + " (restart nfgate to switch data paths)";
    return fields_needing_restart(running, next);
}

std::string Dataplane::fields_needing_restart(const Model&, const Model&) const { return {}; }

}  // namespace nfgate::daemon

// Ways into the fast path beyond FastPath::start, for in-process tests and the throughput
// harness that set up EAL themselves (EAL can be initialised once per process).
#pragma once

#include <memory>
#include <string>

#include "dataplane/fast_path.hpp"

namespace nfgate::port {

// FastPath::start minus EAL initialisation: the caller ran rte_eal_init already and keeps
// EAL (stop() does not call rte_eal_cleanup). Ports named by an interface's device that
// already exist (e.g. made with rte_eth_from_rings) are used as they are.
std::unique_ptr<fastpath::FastPath> start_on_running_eal(const Model& m, std::string& err);

}  // namespace nfgate::port

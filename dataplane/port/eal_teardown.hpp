// Ends EAL and removes its runtime folder (/var/run/dpdk/<file-prefix>): rte_eal_cleanup()
// leaves the folder behind, and every run with a per-process prefix would otherwise add one.
#pragma once

#include <rte_eal.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace nfgate::port {

inline void eal_cleanup_and_remove_runtime_dir() {
    const std::string dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
}

}  // namespace nfgate::port

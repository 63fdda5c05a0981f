#include "dataplane/port/eal_setup.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

namespace nfgate::port {

bool init_eal(const std::vector<std::string>& args, std::string& err) {
    // rte_eal_init may permute argv and keeps pointers into it for the life of the process,
    // so the strings live in a static arena rather than on this frame.
    static std::vector<std::string> arena;
    static std::vector<char*> argv;
    if (!argv.empty()) {
        err = "eal: EAL is already initialised in this process (it can be started only once)";
        return false;
    }
    arena.reserve(args.size() + 1);
    arena.emplace_back("nfgate");
    for (const auto& a : args) arena.push_back(a);
    for (auto& s : arena) argv.push_back(s.data());
    argv.push_back(nullptr);
    int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
    if (rc < 0) {
        err = std::string("eal: rte_eal_init refused the arguments: ") + rte_strerror(rte_errno) +
              " (valid example: [--no-huge, -m, \"512\", --no-pci, -l, \"0-1\"])";
        return false;
    }
    return true;
}

bool pick_worker_lcores(unsigned workers, std::vector<unsigned>& lcores, std::string& err) {
    lcores.clear();
    if (workers == 0) {
        err = "workers: must be at least 1";
        return false;
    }
    unsigned id;
    RTE_LCORE_FOREACH_WORKER(id) {
        if (lcores.size() == workers) break;
        lcores.push_back(id);
    }
    if (lcores.size() < workers) {
        err = "workers: " + std::to_string(workers) + " workers need " + std::to_string(workers + 1) +
              " EAL lcores (one main + one per worker) but eal gives " +
              std::to_string(rte_lcore_count()) +
              "; list more with -l, or map several lcores onto the CPUs you have, e.g. "
              "--lcores=0@0,1@1,2@1 for 2 workers on 2 CPUs";
        return false;
    }
    return true;
}

}  // namespace nfgate::port

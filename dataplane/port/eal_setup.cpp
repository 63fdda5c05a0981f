#include "dataplane/port/eal_setup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dataplane/port/eal_log.hpp"

namespace nfgate::port {

namespace {

// The --file-prefix among the EAL arguments ("rte", DPDK's default, without one).
std::string file_prefix(const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--file-prefix" && i + 1 < args.size()) return args[i + 1];
        if (args[i].rfind("--file-prefix=", 0) == 0) return args[i].substr(14);
    }
    return "rte";
}

// "pid N" when a process holds the write lock DPDK's primary takes on its runtime config file
// (/var/run/dpdk/<prefix>/config as root, as the daemon runs); "" otherwise.
std::string config_lock_holder(const std::string& prefix) {
    const std::string path = "/var/run/dpdk/" + prefix + "/config";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 0;
    const bool held = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    ::close(fd);
    return held ? "pid " + std::to_string(fl.l_pid) : std::string();
}

}  // namespace

bool init_eal(const std::vector<std::string>& args, std::string& err) {
    // rte_eal_init may permute argv and keeps pointers into it for the life of the process,
    // so the strings live in a static arena rather than on this frame.
    static std::vector<std::string> arena;
    static std::vector<char*> argv;
    if (!argv.empty()) {
        err = "eal: EAL is already initialised in this process (it can be started only once)";
        return false;
    }
    // Before rte_eal_init: its own messages take the same way as every later one.
    if (!route_eal_log(err)) return false;
    arena.reserve(args.size() + 1);
    arena.emplace_back("nfgate");
    for (const auto& a : args) arena.push_back(a);
    for (auto& s : arena) argv.push_back(s.data());
    argv.push_back(nullptr);
    // Another primary process on the same runtime folder is the usual cause of a refusal, and
    // rte_eal_init says so only in its log (rte_errno stays 0): ask its config lock first.
    const std::string prefix = file_prefix(args);
    const std::string holder = config_lock_holder(prefix);
    if (!holder.empty()) {
        err = "eal: another DPDK primary process (" + holder + ") uses the EAL file prefix \"" + prefix +
              "\": give this gateway its own (eal: [..., --file-prefix, NAME]) or stop the other";
        return false;
    }
    int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
    if (rc < 0) {
        const int e = rte_errno;
        err = std::string("eal: rte_eal_init refused the arguments") + (e != 0 ? ": " + std::string(rte_strerror(e)) : "") +
              " (the EAL log above says why; valid example: [--no-huge, -m, \"512\", --no-pci, -l, \"0-1\"])";
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

// EAL bring-up from the gateway file's `eal:` list. EAL can be initialised once per process.
#pragma once

#include <string>
#include <vector>

namespace nfgate::port {

// Runs rte_eal_init with argv = {"nfgate", args...}. Fails (err set) when EAL refuses the
// arguments or was already initialised in this process.
bool init_eal(const std::vector<std::string>& args, std::string& err);

// Worker lcores to run `workers` workers on: the first `workers` lcores EAL made available
// besides the main one. Fails with an error that names `eal` and `workers` when there are too few.
bool pick_worker_lcores(unsigned workers, std::vector<unsigned>& lcores, std::string& err);

}  // namespace nfgate::port

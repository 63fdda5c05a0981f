// The kernel path as the daemon sees it: apply a Model as nftables objects, atomically.
#pragma once

#include <memory>
#include <string>

#include "model/model.hpp"
#include "nft/model_changes.hpp"
#include "nft/nft_plan.hpp"

namespace nfgate::nft {

class KernelPath {
public:
    KernelPath();
    ~KernelPath();
    KernelPath(const KernelPath&) = delete;
    KernelPath& operator=(const KernelPath&) = delete;

    // The first call adopts the table an earlier run left when its seal says it holds the
    // rendering of `m` (nothing is sent: affinity maps and counters stay), and otherwise replaces
    // whatever nfgate table exists with that rendering, in one batch (ruleset_seal.hpp). Later
    // calls send only what changed against the model last applied. On failure the kernel keeps
    // what it had (the batch is atomic) and `err` names the object the kernel refused.
    // After a successful apply, kernel conntrack entries of UDP flows whose endpoint went away
    // are deleted so clients move on at once.
    bool apply(const Model& m, std::string& err);

    // At a clean stop: seals the table with what it holds, so the next start can adopt it.
    bool seal(std::string& err);
    // Whether the first apply adopted the table as it was.
    bool adopted() const;

    // Removes everything nfgate installed (table, local routes). Succeeds when nothing is there.
    static bool cleanup(std::string& err);

private:
    struct State;
    void count_all(const Model& m);
    bool apply_changes(const Model& m, const ServiceChanges& changes, std::string& err);
    bool update_routes(const Model& m, bool first, std::string& err);
    bool first_apply(const Model& m, std::string& err);
    bool run_unsealing(Plan plan, std::string& err);
    std::unique_ptr<State> state_;
};

}  // namespace nfgate::nft

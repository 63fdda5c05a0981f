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

    // The SYN proxy (nft_flood_render.hpp): on fills its set with the TCP frontends of the model
    // in force and holds nf_conntrack_tcp_loose at 0; off empties the set and puts the sysctl back.
    // One batch of set elements, nothing else rewritten. The first apply writes or adopts the
    // table with the proxy off and then switches it on when conntrack.synProxy is `on`; later
    // applies keep the state and follow the frontends. Refused before the first apply.
    bool set_syn_proxy(bool on, std::string& err);
    bool syn_proxy() const;

    // Removes everything nfgate installed (table, local routes). Succeeds when nothing is there.
    static bool cleanup(std::string& err);

private:
    struct State;
    void count_all(const Model& m);
    bool apply_changes(const Model& m, const ServiceChanges& changes, std::string& err);
    bool update_routes(const Model& m, bool first, std::string& err);
    bool update_routes6(const Model& m, bool first, std::string& err);
    bool first_apply(const Model& m, std::string& err);
    bool run_unsealing(Plan plan, std::string& err);
    bool write_sealed(const Ruleset& rs, bool& adopted, std::string& err);
    bool write_ip6(const Model* was, const Model& m, std::string& err, bool* adopted = nullptr);
    std::unique_ptr<State> state_;
};

}  // namespace nfgate::nft

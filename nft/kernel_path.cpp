#include "nft/kernel_path.hpp"

#include <optional>

#include "nft/netlink.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"

namespace nfgate::nft {

struct KernelPath::State {
    std::optional<Ruleset> applied;  // what the kernel holds since the last successful apply
};

KernelPath::KernelPath() : state_(std::make_unique<State>()) {}
KernelPath::~KernelPath() = default;

namespace {

bool run_plan(const Plan& plan, std::string& err) {
    if (plan.empty()) return true;
    size_t messages_hint = plan.ops.size() * 3 + 2;
    Batch b = build_batch(plan, next_batch_seq(static_cast<uint32_t>(messages_hint)));
    return send_batch(b, err);
}

}  // namespace

bool KernelPath::apply(const Model& m, std::string& err) {
    Ruleset next = render(m);
    Plan plan = state_->applied ? diff_plan(*state_->applied, next) : full_plan(next);
    if (!run_plan(plan, err)) {
        err = "kernel path: " + err;
        return false;
    }
    state_->applied = std::move(next);
    return true;
}

bool KernelPath::cleanup(std::string& err) {
    Ruleset empty;
    Plan plan;
    plan.table = empty.table;
    plan.ops.push_back(Op{OpKind::add_table, nullptr, nullptr, nullptr, {}});
    plan.ops.push_back(Op{OpKind::delete_table, nullptr, nullptr, nullptr, {}});
    if (!run_plan(plan, err)) {
        err = "kernel path cleanup: " + err;
        return false;
    }
    return true;
}

}  // namespace nfgate::nft

#include "nft/kernel_path.hpp"

#include <algorithm>
#include <optional>

#include "nft/conntrack_flush.hpp"
#include "nft/local_routes.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"

namespace nfgate::nft {

// What the kernel holds since the last successful apply: the next apply sends only the difference.
struct KernelPath::State {
    std::optional<Ruleset> ruleset;
    std::vector<Cidr> routes;
    std::vector<Endpoint> udp_endpoints;
};

KernelPath::KernelPath() : state_(std::make_unique<State>()) {}
KernelPath::~KernelPath() = default;

namespace {

bool run_plan(const Plan& plan, std::string& err) {
    if (plan.empty()) return true;
    Batch b = build_batch(plan, next_batch_seq(static_cast<uint32_t>(plan.ops.size() * 2 + 2)));
    return send_batch(b, err);
}

std::vector<Cidr> minus(const std::vector<Cidr>& a, const std::vector<Cidr>& b) {
    std::vector<Cidr> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

}  // namespace

bool KernelPath::apply(const Model& m, std::string& err) {
    Ruleset next = render(m);
    bool first = !state_->ruleset;
    Plan plan = first ? full_plan(next) : diff_plan(*state_->ruleset, next);
    if (!run_plan(plan, err)) {
        err = "kernel path: " + err;
        return false;
    }
    state_->ruleset = std::move(next);

    // The ruleset is in force from here; what follows completes it, and a failure is reported
    // without forgetting what was applied.
    std::vector<Cidr> routes = local_route_prefixes(m);
    if (first && !remove_all_local_routes(err)) return false;
    const std::vector<Cidr> none;
    const std::vector<Cidr>& had = first ? none : state_->routes;
    if (!update_local_routes(minus(routes, had), minus(had, routes), err)) return false;
    state_->routes = std::move(routes);

    std::vector<Endpoint> udp = ready_udp_endpoints(m);
    std::vector<Endpoint> gone = gone_endpoints(state_->udp_endpoints, udp);
    state_->udp_endpoints = std::move(udp);
    size_t deleted = 0;
    return flush_udp_flows(gone, deleted, err);
}

bool KernelPath::cleanup(std::string& err) {
    Plan plan;
    plan.ops.push_back(Op{OpKind::add_table, nullptr, nullptr, nullptr, {}});
    plan.ops.push_back(Op{OpKind::delete_table, nullptr, nullptr, nullptr, {}});
    if (!run_plan(plan, err)) {
        err = "kernel path cleanup: " + err;
        return false;
    }
    return remove_all_local_routes(err);
}

}  // namespace nfgate::nft

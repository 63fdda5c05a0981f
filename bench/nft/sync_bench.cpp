// Kernel path sync timings at the library level: load a generated cluster, then time render,
// the first full apply, and an incremental apply after one endpoint change, each beside its
// floor: the kernel's part of it (its batches from the send to the last acknowledgement,
// nft/netlink.hpp BatchClock). Runs inside a
// private network namespace of its own (never the host's ruleset). Prints one JSON object;
// writes the `nft -f` text of the same ruleset to --text-out for the nft peer.
//   nft_sync_bench --config DIR/gateway.yaml [--text-out FILE] [--repeat N]
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "control/loader/config_loader.hpp"
#include "nft/kernel_path.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_render.hpp"
#include "nft/nft_text.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Moves one ready endpoint of Service number `which` to a new address: the smallest change.
bool change_one_endpoint(nfgate::Model& m, size_t which, uint32_t round) {
    if (m.services.empty()) return false;
    for (auto& p : m.services[which % m.services.size()].ports)
        for (auto& e : p.endpoints)
            if (e.ready) {
                e.ip = (10u << 24 | 250u << 16) + round;
                std::sort(p.endpoints.begin(), p.endpoints.end());
                return true;
            }
    return false;
}

// Incremental applies in a row, each moving one endpoint of a different Service: steady-state
// operation, as the daemon sees it between two reloads.
constexpr int kChangesPerRound = 20;

}  // namespace

int main(int argc, char** argv) {
    std::string config, text_out;
    int repeat = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--config")) config = argv[i + 1];
        else if (!std::strcmp(argv[i], "--text-out")) text_out = argv[i + 1];
        else if (!std::strcmp(argv[i], "--repeat")) repeat = std::max(1, std::atoi(argv[i + 1]));
    }
    if (config.empty()) {
        std::fprintf(stderr, "usage: %s --config DIR/gateway.yaml [--text-out FILE] [--repeat N]\n", argv[0]);
        return 2;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        std::perror("nft_sync_bench: unshare(CLONE_NEWNET) (needs root)");
        return 1;
    }

    auto t0 = Clock::now();
    auto loaded = nfgate::loader::load_config(config);
    double load_ms = ms_since(t0);
    if (!loaded.ok()) {
        for (const auto& d : loaded.errors) std::fprintf(stderr, "%s\n", d.str().c_str());
        return 1;
    }
    nfgate::Model model = loaded.model;

    // A dual-stack cluster has a second table for its IPv6 half: rendered and counted too.
    const bool dual = model.has_ipv6();
    t0 = Clock::now();
    nfgate::nft::Ruleset rs = nfgate::nft::render(model);
    nfgate::nft::Ruleset rs6 = dual ? nfgate::nft::render(model, false, nfgate::nft::Family::ip6) : nfgate::nft::Ruleset{};
    double render_ms = ms_since(t0);
    if (!text_out.empty()) std::ofstream(text_out) << nfgate::nft::to_nft_text(rs) << (dual ? nfgate::nft::to_nft_text(rs6) : "");

    std::string err;
    std::vector<double> full, full_kernel, incr, incr_kernel;
    auto kernel_ms = [](const nfgate::nft::BatchClock& before) {
        return static_cast<double>(nfgate::nft::batch_clock().kernel_ns - before.kernel_ns) / 1e6;
    };
    for (int r = 0; r < repeat; ++r) {
        nfgate::nft::KernelPath kp;
        t0 = Clock::now();
        nfgate::nft::BatchClock before = nfgate::nft::batch_clock();
        if (!kp.apply(model, err)) {
            std::fprintf(stderr, "full apply: %s\n", err.c_str());
            return 1;
        }
        full.push_back(ms_since(t0));
        full_kernel.push_back(kernel_ms(before));
        nfgate::Model changed = model;
        for (int k = 0; k < kChangesPerRound; ++k) {
            size_t which = static_cast<size_t>(k) * 7919 + static_cast<size_t>(r);
            if (!change_one_endpoint(changed, which, static_cast<uint32_t>(r * kChangesPerRound + k + 1))) break;
            t0 = Clock::now();
            before = nfgate::nft::batch_clock();
            if (!kp.apply(changed, err)) {
                std::fprintf(stderr, "incremental apply: %s\n", err.c_str());
                return 1;
            }
            incr.push_back(ms_since(t0));
            incr_kernel.push_back(kernel_ms(before));
        }
    }
    size_t rules = 0, elems = 0;
    for (const auto* r : {&rs, &rs6}) {
        for (const auto& c : r->chains) rules += c.rules.size();
        for (const auto& s : r->sets) elems += s.elems.size();
    }
    std::printf(
        "{\"services\": %zu, \"chains\": %zu, \"rules\": %zu, \"set_elements\": %zu, \"load_ms\": %.1f, "
        "\"render_ms\": %.2f, \"full_apply_ms\": %.1f, \"full_apply_kernel_ms\": %.1f, \"one_endpoint_change_ms\": %.2f, "
        "\"one_endpoint_change_kernel_ms\": %.2f, \"one_endpoint_change_max_ms\": %.2f, \"repeats\": %d, \"endpoint_changes\": %zu}\n",
        model.services.size(), rs.chains.size() + rs6.chains.size(), rules, elems, load_ms, render_ms, median(full),
        median(full_kernel), median(incr), median(incr_kernel), incr.empty() ? 0.0 : *std::max_element(incr.begin(), incr.end()),
        repeat, incr.size());
    nfgate::nft::KernelPath::cleanup(err);
    return 0;
}

// What the kernel path can report without touching its ruleset: per-interface packet and byte
// counts of the daemon's network namespace (/proc/net/dev) and the conntrack table's fill
// (nf_conntrack_count / nf_conntrack_max). Cheap enough to read once a second.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/metrics/metrics_text.hpp"

namespace nfgate::daemon {

struct KernelFigures {
    std::vector<metrics::InterfaceFigures> interfaces;  // every interface but lo
    std::optional<uint64_t> conntrack_count, conntrack_max;
    // From the control thread's once-a-second SYN-flood sample (nft/flood_figures.hpp), not read here.
    std::optional<uint64_t> half_open_flows;
    std::optional<bool> syn_proxy;
    std::optional<uint64_t> new_flows_rate_limited;
};

// Parses /proc/net/dev's text (exposed for tests).
std::vector<metrics::InterfaceFigures> parse_proc_net_dev(std::string_view text);

KernelFigures read_kernel_figures();

}  // namespace nfgate::daemon

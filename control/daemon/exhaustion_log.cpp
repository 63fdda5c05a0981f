#include "control/daemon/exhaustion_log.hpp"

#include <array>
#include <string_view>

namespace nfgate::daemon {

namespace {

struct Watched {
    engine::Reason reason;
    std::string_view what;
    std::string_view hint;
};

// The drop reasons that mean "new flows refused while established ones keep working".
constexpr std::array<Watched, 2> kWatched = {{
    {engine::Reason::flow_table_full, "flow table full", "raise conntrack.maxFlows"},
    {engine::Reason::snat_ports_exhausted, "SNAT ports exhausted",
     "each worker owns a slice of the SNAT ports of every gateway address"},
}};

}  // namespace

std::vector<std::string> ExhaustionLog::sample(const fastpath::Counters& now, unsigned seconds) {
    std::vector<std::string> lines;
    for (const Watched& w : kWatched) {
        const uint64_t total = now.reason(w.reason);
        uint64_t& before = last_[static_cast<size_t>(w.reason)];
        if (primed_ && total > before)
            lines.push_back("nfgate: " + std::string(w.what) + ": " + std::to_string(total - before) +
                            " new flows refused in the last " + std::to_string(seconds) + " s (" +
                            std::to_string(total) + " in all; " + std::string(w.hint) + ")");
        before = total;
    }
    primed_ = true;
    return lines;
}

}  // namespace nfgate::daemon

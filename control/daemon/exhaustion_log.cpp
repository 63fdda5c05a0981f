#include "control/daemon/exhaustion_log.hpp"

#include <array>
#include <charconv>

namespace nfgate::daemon {

namespace {

struct Watched {
    std::string_view counter;
    std::string_view what;
    std::string_view hint;
};

// The drop reasons that mean "new flows refused while established ones keep working".
constexpr std::array<Watched, 2> kWatched = {{
    {"reason.flow_table_full", "flow table full", "raise conntrack.maxFlows"},
    {"reason.snat_ports_exhausted", "SNAT ports exhausted", "each worker owns a slice of the SNAT ports of every gateway address"},
}};

}  // namespace

std::map<std::string, uint64_t> parse_stats(std::string_view text) {
    std::map<std::string, uint64_t> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        size_t sp = line.rfind(' ');
        if (sp == std::string_view::npos || sp == 0) continue;
        uint64_t v = 0;
        std::string_view num = line.substr(sp + 1);
        auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
        if (ec != std::errc{} || p != num.data() + num.size()) continue;
        out.emplace(std::string(line.substr(0, sp)), v);
    }
    return out;
}

std::vector<std::string> ExhaustionLog::sample(std::string_view stats_text, unsigned seconds) {
    std::map<std::string, uint64_t> now = parse_stats(stats_text);
    std::vector<std::string> lines;
    if (primed_) {
        for (const Watched& w : kWatched) {
            auto it = now.find(std::string(w.counter));
            if (it == now.end()) continue;
            auto was = last_.find(it->first);
            uint64_t before = was == last_.end() ? 0 : was->second;
            if (it->second <= before) continue;
            lines.push_back("nfgate: " + std::string(w.what) + ": " + std::to_string(it->second - before) +
                            " new flows refused in the last " + std::to_string(seconds) + " s (" +
                            std::to_string(it->second) + " in all; " + std::string(w.hint) + ")");
        }
    }
    primed_ = true;
    last_ = std::move(now);
    return lines;
}

}  // namespace nfgate::daemon

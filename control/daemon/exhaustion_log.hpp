// The rate-limited log line DESIGN.md asks for when a full flow table or an exhausted SNAT port
// pool refuses new flows. Workers only count (they never log); the control thread samples the
// counters once a second and says what rose since the last sample, at most one line per counter
// per sample. Pure: fed stats text, returns lines, so it is unit-tested without a data path.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace nfgate::daemon {

// "name value" lines (FastPath::stats_text) into a map; malformed lines are skipped.
std::map<std::string, uint64_t> parse_stats(std::string_view text);

class ExhaustionLog {
public:
    // Lines to log for counters that rose since the previous call (none on the first call: it
    // only takes the baseline). `seconds` is the time since the previous call, for the wording.
    std::vector<std::string> sample(std::string_view stats_text, unsigned seconds);

private:
    bool primed_ = false;
    std::map<std::string, uint64_t> last_;
};

}  // namespace nfgate::daemon

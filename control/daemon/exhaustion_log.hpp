// The rate-limited log line DESIGN.md asks for when a full flow table or an exhausted SNAT port
// pool refuses new flows. Workers only count (they never log); the control thread samples the
// counters once a second and says what rose since the last sample, at most one line per reason
// per sample. Pure: fed counters, returns lines, so it is unit-tested without a data path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/counters.hpp"

namespace nfgate::daemon {

class ExhaustionLog {
public:
    // Lines to log for watched reasons that rose since the previous call (none on the first
    // call: it only takes the baseline). `seconds` is the time since the previous call, for the
    // wording.
    std::vector<std::string> sample(const fastpath::Counters& now, unsigned seconds);

private:
    bool primed_ = false;
    fastpath::ReasonCounts last_{};  // every worker summed, at the previous call
};

}  // namespace nfgate::daemon

// The control thread's exhaustion log: counters in, rate-limited lines out.
#include <gtest/gtest.h>

#include "control/daemon/exhaustion_log.hpp"

using namespace nfgate;
using namespace nfgate::daemon;
using engine::Reason;

namespace {

// Two workers, the refusals of each reason split between them: the log reads the sum.
fastpath::Counters refused(uint64_t table_full, uint64_t snat_exhausted, uint64_t other = 0) {
    fastpath::Counters c;
    c.workers.resize(2);
    auto& r0 = c.workers[0].reasons;
    auto& r1 = c.workers[1].reasons;
    r0[static_cast<size_t>(Reason::flow_table_full)] = table_full / 2;
    r1[static_cast<size_t>(Reason::flow_table_full)] = table_full - table_full / 2;
    r1[static_cast<size_t>(Reason::snat_ports_exhausted)] = snat_exhausted;
    r0[static_cast<size_t>(Reason::no_route)] = other;
    return c;
}

TEST(ExhaustionLog, FirstSampleIsTheBaselineThenOnlyRisesAreLogged) {
    ExhaustionLog log;
    EXPECT_TRUE(log.sample(refused(5, 0), 0).empty()) << "what happened before the first sample is not news";
    EXPECT_TRUE(log.sample(refused(5, 0), 1).empty());

    auto lines = log.sample(refused(12, 0, 99), 1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "nfgate: flow table full: 7 new flows refused in the last 1 s (12 in all; raise conntrack.maxFlows)");

    lines = log.sample(refused(12, 4), 2);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0],
              "nfgate: SNAT ports exhausted: 4 new flows refused in the last 2 s (4 in all; each worker owns a slice "
              "of the SNAT ports of every gateway address)");

    lines = log.sample(refused(13, 5), 1);
    ASSERT_EQ(lines.size(), 2u) << "one line per reason that rose";
    EXPECT_EQ(lines[0].rfind("nfgate: flow table full: 1 new flows", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1].rfind("nfgate: SNAT ports exhausted: 1 new flows", 0), 0u) << lines[1];
}

TEST(ExhaustionLog, OtherReasonsAreNotWatched) {
    ExhaustionLog log;
    log.sample(refused(0, 0, 0), 0);
    EXPECT_TRUE(log.sample(refused(0, 0, 1000), 1).empty());
}

TEST(ExhaustionLog, NoWorkersLogNothing) {
    ExhaustionLog log;
    EXPECT_TRUE(log.sample(fastpath::Counters{}, 0).empty());
    EXPECT_TRUE(log.sample(fastpath::Counters{}, 1).empty());
}

}  // namespace

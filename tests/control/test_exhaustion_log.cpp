// The control thread's exhaustion log: counters in, rate-limited lines out.
#include <gtest/gtest.h>

#include "control/daemon/exhaustion_log.hpp"

using namespace nfgate::daemon;

TEST(ExhaustionLog, ParsesNameValueLinesAndSkipsTheRest) {
    auto m = parse_stats("rx_packets 10\nreason.flow_table_full 3\nbroken\nname notanumber\n\nport.ext.tx_packets 7");
    EXPECT_EQ(m.size(), 3u);
    EXPECT_EQ(m["rx_packets"], 10u);
    EXPECT_EQ(m["reason.flow_table_full"], 3u);
    EXPECT_EQ(m["port.ext.tx_packets"], 7u);
}

TEST(ExhaustionLog, FirstSampleIsTheBaselineThenOnlyRisesAreLogged) {
    ExhaustionLog log;
    EXPECT_TRUE(log.sample("reason.flow_table_full 5\nreason.snat_ports_exhausted 0\n", 0).empty())
        << "what happened before the first sample is not news";
    EXPECT_TRUE(log.sample("reason.flow_table_full 5\nreason.snat_ports_exhausted 0\n", 1).empty());

    auto lines = log.sample("reason.flow_table_full 12\nreason.snat_ports_exhausted 0\nrx_packets 99\n", 1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "nfgate: flow table full: 7 new flows refused in the last 1 s (12 in all; raise conntrack.maxFlows)");

    lines = log.sample("reason.flow_table_full 12\nreason.snat_ports_exhausted 4\n", 2);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("SNAT ports exhausted: 4 new flows refused in the last 2 s"), std::string::npos) << lines[0];
}

TEST(ExhaustionLog, KernelPathHasNoCountersAndLogsNothing) {
    ExhaustionLog log;
    EXPECT_TRUE(log.sample("", 0).empty());
    EXPECT_TRUE(log.sample("", 1).empty());
}

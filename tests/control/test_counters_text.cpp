// The one text form of the fast path's counters (SIGUSR1 and at stop): the names scripts and
// the README use, in their order, with every worker summed.
#include <gtest/gtest.h>

#include <sstream>

#include "control/daemon/counters_text.hpp"

using namespace nfgate;
using namespace nfgate::daemon;
using engine::Reason;

namespace {

fastpath::Counters two_ports_two_workers() {
    fastpath::Counters c;
    c.ports = {{"ext", 30, 20, 1}, {"pods", 12, 25, 0}};
    c.workers.resize(2);
    c.workers[0] = {.rx_packets = 40, .tx_packets = 44, .forwarded_nat = 7, .forwarded_plain = 2,
                    .flows_created = 3, .reasons = {}};
    c.workers[1] = {.rx_packets = 2, .tx_packets = 1, .forwarded_nat = 1, .forwarded_plain = 0,
                    .flows_created = 1, .reasons = {}};
    c.workers[0].reasons[static_cast<size_t>(Reason::flow_table_full)] = 5;
    c.workers[1].reasons[static_cast<size_t>(Reason::flow_table_full)] = 6;
    c.workers[1].reasons[static_cast<size_t>(Reason::eth_truncated)] = 9;
    c.workers[1].reasons[static_cast<size_t>(Reason::fragment_table_evicted)] = 4;
    c.flows_in_use = 17;
    c.flow_capacity = 1024;
    return c;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

TEST(CountersText, TotalsReasonsPortsWorkersInThatOrder) {
    const std::string text = counters_text(two_ports_two_workers());
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    const auto lines = lines_of(text);
    ASSERT_EQ(lines.size(), 6 + engine::kReasonCount + 2 * 3 + 2);
    EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 6),
              (std::vector<std::string>{"rx_packets 42", "tx_packets 45", "forwarded_nat 8", "forwarded_plain 2",
                                        "flows_created 4", "flows_in_use 17"}));
    for (size_t r = 0; r < engine::kReasonCount; ++r)
        EXPECT_EQ(lines[6 + r].rfind("reason." + std::string(engine::kReasonNames[r]) + " ", 0), 0u) << lines[6 + r];
    EXPECT_EQ(lines[6], "reason.eth_truncated 9");
    EXPECT_EQ(lines[6 + static_cast<size_t>(Reason::flow_table_full)], "reason.flow_table_full 11");
    EXPECT_EQ(lines[6 + static_cast<size_t>(Reason::fragment_table_evicted)], "reason.fragment_table_evicted 4");
    EXPECT_EQ(lines[6 + static_cast<size_t>(Reason::new_flow_rate_limited)], "reason.new_flow_rate_limited 0");
    EXPECT_EQ(std::vector<std::string>(lines.end() - 8, lines.end()),
              (std::vector<std::string>{"port.ext.rx_packets 30", "port.ext.tx_packets 20", "port.ext.tx_ring_full 1",
                                        "port.pods.rx_packets 12", "port.pods.tx_packets 25",
                                        "port.pods.tx_ring_full 0", "worker0.rx_packets 40",
                                        "worker1.rx_packets 2"}));
}

TEST(CountersText, TotalsSumEveryWorker) {
    const fastpath::Counters c = two_ports_two_workers();
    const fastpath::WorkerCounters all = c.total();
    EXPECT_EQ(all.rx_packets, 42u);
    EXPECT_EQ(all.flows_created, 4u);
    EXPECT_EQ(all.reason(Reason::flow_table_full), 11u);
    EXPECT_EQ(c.reason(Reason::flow_table_full), 11u);
    EXPECT_EQ(c.reason(Reason::no_route), 0u);
}

}  // namespace

// The shipped fast path with two worker lcores on a 2-CPU machine: EAL maps three lcores onto
// the two CPUs (--lcores=0@0,1@1,2@1: main on CPU 0, both workers on CPU 1). Each worker polls
// its own queue of every port; replies arrive on the other worker's queue, as with NICs that
// cannot steer both directions of a flow to one queue, so the flow table is shared for real.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "tests/fastpath/nat_fixture.hpp"

namespace nfgate::test {
namespace {

class FastPathTwoWorkers : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        init_test_eal({"--no-huge", "-m", "512", "--no-pci", "--lcores=0@0,1@1,2@1", "--log-level=*:warning"});
    }
    void SetUp() override {
        std::string err;
        ASSERT_TRUE(bench_.start(nat_model(2, {"10.244.1.10", "10.244.1.11", "10.244.1.12"}), err)) << err;
    }

    NatBench bench_{"nat2", 2};
};

TEST_F(FastPathTwoWorkers, FlowsAndTheirRepliesCrossWorkers) {
    constexpr unsigned kFlows = 64;
    std::set<uint32_t> backends;
    for (unsigned i = 0; i < kFlows; ++i) {
        const uint16_t cport = static_cast<uint16_t>(50000 + i);
        const unsigned q = i % 2;
        auto syn = bench_.send(kExt, Pkt::tcp("192.0.2.10", cport, "10.96.0.10", 80, 0x02), q);
        ASSERT_TRUE(syn) << "flow " << i;
        ASSERT_EQ(syn->iface, kPods);
        ASSERT_TRUE(syn->out.l4_csum_ok && syn->out.ip_csum_ok) << "flow " << i;
        ASSERT_EQ(syn->out.dport, 8080);
        backends.insert(syn->out.dst);

        Pkt synack = Pkt::tcp("10.244.1.10", 8080, "10.244.0.1", syn->out.sport, 0x12);
        synack.src = syn->out.dst;
        synack.dst = syn->out.src;
        auto back = bench_.send(kPods, synack, 1 - q);
        ASSERT_TRUE(back) << "flow " << i;
        ASSERT_EQ(back->iface, kExt);
        EXPECT_EQ(back->out.src, ip("10.96.0.10"));
        EXPECT_EQ(back->out.sport, 80);
        EXPECT_EQ(back->out.dst, ip("192.0.2.10"));
        EXPECT_EQ(back->out.dport, cport);
        EXPECT_TRUE(back->out.l4_csum_ok && back->out.ip_csum_ok);

        auto ack = bench_.send(kExt, Pkt::tcp("192.0.2.10", cport, "10.96.0.10", 80, 0x10), q);
        ASSERT_TRUE(ack) << "flow " << i;
        EXPECT_EQ(ack->out.dst, syn->out.dst);
        EXPECT_EQ(ack->out.sport, syn->out.sport);
    }
    // 64 flows over 3 ready endpoints: every endpoint gets some.
    EXPECT_EQ(backends.size(), 3u);

    const fastpath::Counters c = bench_.fast_path().counters();
    EXPECT_GE(c.flows_in_use, kFlows);
    ASSERT_EQ(c.workers.size(), 2u);
    EXPECT_GE(c.workers[0].rx_packets, 3 * kFlows / 2);
    EXPECT_GE(c.workers[1].rx_packets, 3 * kFlows / 2);
    EXPECT_EQ(c.reason(engine::Reason::flow_table_full), 0u);
}

// update() publishes without waiting for the workers (rcu_snapshot.hpp): a worker that loaded
// the old snapshot in the loop turn that is running may still give it the next connection.
// Within a few turns every new connection goes to the new endpoint.
TEST_F(FastPathTwoWorkers, UpdatePublishesWhileBothWorkersRun) {
    std::string err;
    uint16_t cport = 30000;
    for (int round = 0; round < 20; ++round) {
        const char* ep = round % 2 ? "10.244.1.20" : "10.244.1.21";
        ASSERT_TRUE(bench_.fast_path().update(bench_.with_ports(nat_model(2, {ep})), err)) << err;
        uint32_t to = 0;
        for (int attempt = 0; attempt < 20 && to != ip(ep); ++attempt) {
            if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
            auto syn = bench_.send(kExt, Pkt::tcp("192.0.2.11", cport++, "10.96.0.10", 80), round % 2);
            ASSERT_TRUE(syn);
            to = syn->out.dst;
        }
        EXPECT_EQ(to, ip(ep)) << "round " << round;
    }
}

}  // namespace
}  // namespace nfgate::test

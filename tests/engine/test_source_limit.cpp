// The per-source new-flow limit (conntrack.newFlowsPerSource, dataplane/engine/source_limiter.hpp):
// a source over its rate gets no new flow, its established flows and every other source go on.
#include <gtest/gtest.h>

#include "dataplane/engine/source_limiter.hpp"
#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::Reason;
using engine::SourceLimit;
using engine::SourceLimiter;

constexpr uint64_t kSecond = 1'000'000'000ull;

TEST(SourceLimiter, BurstThenRate) {
    SourceLimiter lim;
    const SourceLimit l = SourceLimit::per_worker(10, 20, 1);
    const uint64_t t0 = 5 * kSecond;
    unsigned admitted = 0;
    for (int i = 0; i < 30; ++i) admitted += lim.admit(0x0a000001, t0, l);
    EXPECT_EQ(admitted, 20u) << "the burst, at one instant";
    EXPECT_FALSE(lim.admit(0x0a000001, t0 + kSecond / 20, l)) << "half an interval later: still nothing";
    EXPECT_TRUE(lim.admit(0x0a000001, t0 + kSecond / 10, l)) << "one interval (100 ms) later: one more";
    EXPECT_FALSE(lim.admit(0x0a000001, t0 + kSecond / 10, l));
    EXPECT_TRUE(lim.admit(0x0a000002, t0, l)) << "another source has its own allowance";
    unsigned later = 0;
    for (int i = 0; i < 30; ++i) later += lim.admit(0x0a000001, t0 + 10 * kSecond, l);
    EXPECT_EQ(later, 20u) << "a quiet second refills the burst, no more";
}

TEST(SourceLimiter, WorkersShareTheRate) {
    const SourceLimit one = SourceLimit::per_worker(1000, 100, 1);
    const SourceLimit two = SourceLimit::per_worker(1000, 100, 2);
    EXPECT_EQ(one.interval_ns, 1'000'000u);
    EXPECT_EQ(two.interval_ns, 2'000'000u);
    EXPECT_EQ(one.tolerance_ns, 99u * one.interval_ns);
    EXPECT_EQ(two.tolerance_ns, 49u * two.interval_ns) << "50 of the burst per worker";
    EXPECT_FALSE(SourceLimit::per_worker(0, 0, 1).on());
    const SourceLimit burst1 = SourceLimit::per_worker(5, 1, 4);
    EXPECT_EQ(burst1.tolerance_ns, 0u) << "a burst below the worker count still lets one through";
}

class SourceLimitLab : public ::testing::Test {
protected:
    static Model limited() {
        Model m = lab_model();
        m.new_flows_per_source = 4;
        m.new_flows_per_source_burst = 4;
        return m;
    }
    static Pkt syn(const char* client, uint16_t sport) {
        return from_router(Pkt::tcp(client, sport, "192.0.2.50", 80, RTE_TCP_SYN_FLAG));  // web's externalIP
    }
    // How many of `n` new connections from `client` reached a pod.
    unsigned opened(const char* client, uint16_t first_port, unsigned n) {
        unsigned to_pods = 0;
        for (unsigned i = 0; i < n; ++i) {
            lab.send(kExt, syn(client, static_cast<uint16_t>(first_port + i)));
            for (const auto& s : lab.io.sent) to_pods += s.port == kPods;
        }
        return to_pods;
    }
    Lab lab{limited()};
};

TEST_F(SourceLimitLab, ASourceOverItsRateOpensNothingMoreOthersAndItsFlowsGoOn) {
    EXPECT_EQ(opened("198.51.100.7", 40000, 10), 4u);
    EXPECT_EQ(lab.reason(Reason::new_flow_rate_limited), 6u);
    EXPECT_EQ(lab.shared->flows().stats().inserted, 4u) << "refused connections leave nothing behind";
    EXPECT_EQ(opened("198.51.100.8", 40000, 3), 3u) << "another source is not limited";

    // The limited source's connection that was opened keeps working: its SYN again, the
    // endpoint's answer, the client's ACK.
    lab.send(kExt, syn("198.51.100.7", 40000));
    const Out to_pod = lab.only_output(kPods);
    Pkt synack = from_pod(Pkt::tcp("0.0.0.1", to_pod.dport, "0.0.0.1", to_pod.sport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
    synack.src = to_pod.dst;
    synack.dst = to_pod.src;
    synack.eth_src = pod_mac(synack.src);
    lab.send(kPods, synack);
    EXPECT_EQ(lab.only_output(kExt).dst, ip("198.51.100.7"));
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 40000, "192.0.2.50", 80, RTE_TCP_ACK_FLAG)));
    EXPECT_EQ(lab.only_output(kPods).dport, 8080);
    EXPECT_EQ(lab.reason(Reason::new_flow_rate_limited), 6u);

    // UDP flows count too; a second later the source has its allowance back.
    lab.send(kExt, from_router(Pkt::udp("198.51.100.7", 50000, "10.96.0.53", 53)));
    EXPECT_EQ(lab.reason(Reason::new_flow_rate_limited), 7u);
    lab.advance(1);
    EXPECT_EQ(opened("198.51.100.7", 41000, 6), 4u);
}

TEST_F(SourceLimitLab, OffByDefaultAndAReloadChangesIt) {
    Model m = lab_model();
    lab.update(m);
    EXPECT_EQ(opened("198.51.100.7", 40000, 12), 12u);
    EXPECT_EQ(lab.reason(Reason::new_flow_rate_limited), 0u);
    m.new_flows_per_source = 1;
    lab.update(m);
    lab.advance(1);
    EXPECT_EQ(opened("198.51.100.7", 42000, 5), 1u);
}

}  // namespace
}  // namespace nfgate::test

// SNAT pool fill as /metrics reports it: the fullest slice of a worker, read from any thread.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/conntrack/snat_ports.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

TEST(SnatFill, IsTheFullestSliceOfTheWorker) {
    const uint32_t addrs[] = {test::ip(192, 0, 2, 1)};
    SnatPorts::Config cfg;
    cfg.workers = 2;
    cfg.port_min = 10000;
    cfg.port_max = 10199;  // 100 ports per worker
    std::string err;
    auto p = SnatPorts::create(addrs, cfg, err);
    ASSERT_NE(p, nullptr) << err;
    EXPECT_EQ(p->fill(0), 0.0);
    std::vector<uint16_t> tcp;
    for (int i = 0; i < 25; ++i) {
        uint16_t port;
        ASSERT_TRUE(p->acquire(0, 0, net::kProtoTcp, port));
        tcp.push_back(port);
    }
    EXPECT_DOUBLE_EQ(p->fill(0), 0.25);
    EXPECT_EQ(p->fill(1), 0.0) << "another worker's slice is its own";
    for (int i = 0; i < 5; ++i) p->release(0, 0, net::kProtoTcp, tcp[i]);
    EXPECT_DOUBLE_EQ(p->fill(0), 0.20);
    for (int i = 0; i < 50; ++i) {
        uint16_t port;
        ASSERT_TRUE(p->acquire(0, 0, net::kProtoUdp, port));
    }
    EXPECT_DOUBLE_EQ(p->fill(0), 0.50) << "the fullest protocol counts";
}

}  // namespace
}  // namespace nfgate::ct

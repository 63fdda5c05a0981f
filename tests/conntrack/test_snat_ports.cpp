// SNAT port slices: disjoint per worker, exhaustion, no reuse of a held port, FIFO reuse.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <set>

#include "dataplane/conntrack/snat_ports.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

std::unique_ptr<SnatPorts> make(unsigned workers, uint16_t lo, uint16_t hi, size_t addrs = 1) {
    std::vector<uint32_t> a;
    for (size_t i = 0; i < addrs; i++) a.push_back(test::ip(192, 0, 2, static_cast<uint8_t>(1 + i)));
    SnatPorts::Config cfg;
    cfg.workers = workers;
    cfg.port_min = lo;
    cfg.port_max = hi;
    std::string err;
    auto p = SnatPorts::create(a, cfg, err);
    EXPECT_NE(p, nullptr) << err;
    return p;
}

TEST(SnatPorts, WorkerSlicesAreDisjointAndCoverTheRange) {
    auto p = make(3, 1000, 1099);
    std::set<uint16_t> seen;
    for (unsigned w = 0; w < 3; w++) {
        uint16_t port = 0;
        while (p->acquire(w, 0, net::kProtoUdp, port)) {
            const uint16_t host = ntohs(port);
            EXPECT_GE(host, p->slice_first(w));
            EXPECT_LE(host, p->slice_last(w));
            EXPECT_TRUE(seen.insert(host).second) << "port " << host << " given twice";
        }
    }
    EXPECT_EQ(seen.size(), 100u);
    EXPECT_EQ(*seen.begin(), 1000);
    EXPECT_EQ(*seen.rbegin(), 1099);
}

TEST(SnatPorts, ExhaustionFailsAndIsCounted) {
    auto p = make(1, 2000, 2003);
    uint16_t port = 0;
    for (int i = 0; i < 4; i++) ASSERT_TRUE(p->acquire(0, 0, net::kProtoTcp, port));
    EXPECT_FALSE(p->acquire(0, 0, net::kProtoTcp, port));
    EXPECT_FALSE(p->acquire(0, 0, net::kProtoTcp, port));
    EXPECT_EQ(p->exhausted(0), 2u);
    EXPECT_TRUE(p->acquire(0, 0, net::kProtoUdp, port)) << "protocols have their own ports";
    EXPECT_FALSE(p->acquire(0, 0, 47, port)) << "GRE has no ports";
}

TEST(SnatPorts, HeldPortIsNeverGivenAgainAndFreedOnesComeBackLast) {
    auto p = make(1, 3000, 3009);
    uint16_t a = 0, b = 0;
    ASSERT_TRUE(p->acquire(0, 0, net::kProtoTcp, a));
    ASSERT_TRUE(p->acquire(0, 0, net::kProtoTcp, b));
    p->release(0, 0, net::kProtoTcp, a);
    p->release(0, 0, net::kProtoTcp, a);  // a double release must not duplicate it
    std::vector<uint16_t> order;
    uint16_t port = 0;
    while (p->acquire(0, 0, net::kProtoTcp, port)) order.push_back(port);
    ASSERT_EQ(order.size(), 9u);
    EXPECT_EQ(order.back(), a) << "FIFO: the released port is reused last";
    for (uint16_t q : order) EXPECT_NE(q, b);
}

TEST(SnatPorts, PoolsAreSeparatePerAddress) {
    auto p = make(2, 1024, 65535, 2);
    EXPECT_EQ(p->pool_of(test::ip(192, 0, 2, 2)), 1);
    EXPECT_EQ(p->pool_of(test::ip(192, 0, 2, 9)), -1);
    uint16_t x = 0, y = 0;
    ASSERT_TRUE(p->acquire(1, 0, net::kProtoTcp, x));
    ASSERT_TRUE(p->acquire(1, 1, net::kProtoTcp, y));
    EXPECT_EQ(x, y) << "the same port on two addresses is two different tuples";
    EXPECT_EQ(p->free_count(1, 0, net::kProtoTcp), p->free_count(1, 1, net::kProtoTcp));
}

TEST(SnatPorts, RejectsRangesThatCannotServeEveryWorker) {
    std::string err;
    const uint32_t a = test::ip(192, 0, 2, 1);
    SnatPorts::Config cfg;
    cfg.workers = 4;
    cfg.port_min = 5000;
    cfg.port_max = 5002;
    EXPECT_EQ(SnatPorts::create(std::span(&a, 1), cfg, err), nullptr);
    EXPECT_NE(err.find("5000-5002"), std::string::npos) << err;
    cfg.port_max = 4000;
    EXPECT_EQ(SnatPorts::create(std::span(&a, 1), cfg, err), nullptr);
    EXPECT_EQ(SnatPorts::create({}, SnatPorts::Config{}, err), nullptr);
}

}  // namespace
}  // namespace nfgate::ct

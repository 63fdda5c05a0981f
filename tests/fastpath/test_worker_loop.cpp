// The shipped worker loop, TX buffering and RCU snapshot publishing, driven through net_ring
// ports with a test-only stage that forwards port 0 <-> port 1 and stamps each packet with the
// snapshot it saw. (The engine's burst function is exercised in test_fastpath_*.)
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dataplane/port/port_setup.hpp"
#include "dataplane/port/rcu_snapshot.hpp"
#include "dataplane/port/worker_set.hpp"
#include "tests/fastpath/ring_ports.hpp"

namespace nfgate::port {
namespace {

std::atomic<int> g_snapshots_alive{0};

struct StampSnapshot {
    uint8_t stamp;
    explicit StampSnapshot(uint8_t s) : stamp(s) { ++g_snapshots_alive; }
    ~StampSnapshot() { --g_snapshots_alive; }
};

constexpr uint8_t kDropMarker = 0xff;

// Forwards to the other port, writes the snapshot's stamp into byte 0; drops packets whose
// byte 0 is kDropMarker.
class StampForwardStage {
public:
    explicit StampForwardStage(const RcuSnapshot<StampSnapshot>& snap) : snap_(snap) {}
    void begin_loop(uint64_t) { current_ = snap_.current(); }
    void burst(TxBufferIo& io, uint16_t port, std::span<rte_mbuf*> pkts, uint64_t) {
        for (rte_mbuf* m : pkts) {
            auto* b = rte_pktmbuf_mtod(m, uint8_t*);
            if (b[0] == kDropMarker) {
                io.drop(m);
                continue;
            }
            b[0] = current_->stamp;
            io.tx(static_cast<uint16_t>(port ^ 1), m);
        }
    }
    void end_loop(TxBufferIo&, uint64_t) { ++loops_; }
    uint64_t loops() const { return loops_; }

private:
    const RcuSnapshot<StampSnapshot>& snap_;
    const StampSnapshot* current_ = nullptr;
    uint64_t loops_ = 0;
};

class WorkerLoopTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        test::init_test_eal({"--no-huge", "-m", "512", "--no-pci", "--lcores=0@0,1@1,2@1",
                             "--log-level=*:warning"});
    }

    void SetUp() override {
        std::string err;
        pool_ = create_packet_pool(8192, 64, err);
        ASSERT_NE(pool_, nullptr) << err;
        ASSERT_TRUE(qsbr_.init(kWorkers, err)) << err;
        PortSizing sizing{kWorkers, 256, 256};
        for (auto* p : {&a_, &b_}) {
            rte_ether_addr mac;
            ASSERT_TRUE(start_port(p->port_id(), sizing, pool_, p->name(), mac, err)) << err;
        }
        const uint16_t ids[] = {a_.port_id(), b_.port_id()};
        ASSERT_TRUE(workers_.init(kWorkers, ids, qsbr_.get(), err)) << err;
    }

    void TearDown() override {
        workers_.stop();
        a_.discard_all();
        b_.discard_all();
        rte_mempool_free(pool_);
    }

    rte_mbuf* packet(uint8_t first_byte) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        auto* b = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
        std::memset(b, 0, 60);
        b[0] = first_byte;
        return m;
    }

    // Waits until `want` packets came out of `port` (all queues), up to `patience`.
    std::vector<rte_mbuf*> drain(test::RingPort& port, size_t want,
                                 std::chrono::milliseconds patience = std::chrono::seconds(5)) {
        std::vector<rte_mbuf*> got;
        auto deadline = std::chrono::steady_clock::now() + patience;
        while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
            auto more = port.collect_all();
            got.insert(got.end(), more.begin(), more.end());
            if (more.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return got;
    }

    static constexpr unsigned kWorkers = 2;
    rte_mempool* pool_ = nullptr;
    QsbrDomain qsbr_;
    test::RingPort a_{"wl_a", kWorkers};
    test::RingPort b_{"wl_b", kWorkers};
    WorkerSet workers_;
};

TEST_F(WorkerLoopTest, ForwardsEveryPacketAndPicksUpPublishedSnapshots) {
    std::string err;
    RcuSnapshot<StampSnapshot> snap(qsbr_.get());
    snap.publish(std::make_unique<StampSnapshot>(1));
    StampForwardStage s0(snap), s1(snap);
    StampForwardStage* stages[] = {&s0, &s1};
    const unsigned lcores[] = {1, 2};
    ASSERT_TRUE(workers_.launch<StampForwardStage>(lcores, stages, err)) << err;

    // Packets on both queues of port a; queue q is polled by worker q only.
    constexpr unsigned kPerQueue = 500;
    for (unsigned q = 0; q < kWorkers; ++q)
        for (unsigned i = 0; i < kPerQueue; ++i) {
            rte_mbuf* m = packet(0);
            ASSERT_EQ(a_.inject(q, &m, 1), 1u);
        }
    auto out = drain(b_, 2 * kPerQueue);
    ASSERT_EQ(out.size(), 2 * kPerQueue);
    for (rte_mbuf* m : out) {
        EXPECT_EQ(rte_pktmbuf_mtod(m, uint8_t*)[0], 1);
        rte_pktmbuf_free(m);
    }

    // publish() does not wait for the workers; once both passed a quiescent state (reclaim(true)
    // waits for that) the old snapshot is gone and every later packet carries the new stamp.
    snap.publish(std::make_unique<StampSnapshot>(2));
    EXPECT_EQ(snap.current()->stamp, 2);
    snap.reclaim(true);
    EXPECT_EQ(snap.retired(), 0u);
    EXPECT_EQ(g_snapshots_alive.load(), 1);
    rte_mbuf* m = packet(0);
    ASSERT_EQ(b_.inject(1, &m, 1), 1u);
    auto back = drain(a_, 1);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(rte_pktmbuf_mtod(back[0], uint8_t*)[0], 2);
    rte_pktmbuf_free(back[0]);

    // Dropped packets are freed and counted, not sent.
    rte_mbuf* d = packet(kDropMarker);
    ASSERT_EQ(a_.inject(0, &d, 1), 1u);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (workers_.stats(0).freed.get() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    workers_.stop();
    EXPECT_EQ(workers_.stats(0).freed.get(), 1u);
    EXPECT_EQ(drain(b_, 1, std::chrono::milliseconds(50)).size(), 0u);
    EXPECT_GT(s0.loops(), 0u);
    EXPECT_GT(s1.loops(), 0u);

    uint64_t rx = 0, tx = 0;
    for (unsigned w = 0; w < kWorkers; ++w) {
        rx += workers_.stats(w).rx_packets[0].get() + workers_.stats(w).rx_packets[1].get();
        tx += workers_.stats(w).tx_packets[0].get() + workers_.stats(w).tx_packets[1].get();
    }
    EXPECT_EQ(rx, 2 * kPerQueue + 2);
    EXPECT_EQ(tx, 2 * kPerQueue + 1);
}

TEST_F(WorkerLoopTest, PublishWithStoppedWorkersDoesNotWait) {
    RcuSnapshot<StampSnapshot> snap(qsbr_.get());
    snap.publish(std::make_unique<StampSnapshot>(1));
    snap.publish(std::make_unique<StampSnapshot>(2));
    EXPECT_EQ(snap.current()->stamp, 2);
    EXPECT_EQ(g_snapshots_alive.load(), 1);
}

}  // namespace
}  // namespace nfgate::port

// Two workers on two threads sharing one EngineShared: flows opened on one are answered on the
// other, neighbours and affinity are shared, and every packet leaves exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

class CountingIo {
public:
    void tx(uint16_t, rte_mbuf* m) {
        ++sent;
        last = parse_out(m);
        rte_pktmbuf_free(m);
    }
    void drop(rte_mbuf* m) {
        ++dropped;
        rte_pktmbuf_free(m);
    }
    uint64_t sent = 0, dropped = 0;
    Out last;
};

// Worker `w` opens connections from its own client range and answers the other worker's.
void drive(engine::WorkerContext& ctx, const engine::ServiceTable& st, unsigned w, std::atomic<bool>& fail) {
    CountingIo io;
    uint64_t now = 5'000'000'000'000ull;
    for (unsigned i = 0; i < 2000 && !fail; ++i) {
        Pkt p = Pkt::tcp("198.51.100.7", uint16_t(1024 + i), "10.96.0.30", 80);  // sticky service
        p.src = ip("198.51.100.0") + 1 + w * 100 + (i % 50);
        p.eth_src = kRouterMac;
        p.eth_dst = kExtMac;
        rte_mbuf* m = to_mbuf(test_pool(), serialize(p));
        if (m == nullptr) {
            fail = true;
            break;
        }
        rte_mbuf* burst[] = {m};
        engine::process_burst(ctx, st, io, kExt, std::span<rte_mbuf*>(burst, 1), now);
        if (io.sent + io.dropped != i + 1) fail = true;
        engine::worker_quiescent(ctx);
        engine::worker_housekeeping(ctx, now, 64);
        now += 1'000'000;
    }
    if (io.dropped != 0) fail = true;
}

TEST(EngineWorkers, TwoWorkersShareTheEngine) {
    LabOptions opt;
    opt.workers = 2;
    opt.max_flows = 16384;
    Lab lab(lab_model(), opt);
    engine::WorkerContext second(*lab.shared, 1);
    std::atomic<bool> fail{false};
    std::thread t0([&] { drive(*lab.worker_, *lab.st, 0, fail); });
    std::thread t1([&] { drive(second, *lab.st, 1, fail); });
    t0.join();
    t1.join();
    EXPECT_FALSE(fail.load());
    EXPECT_EQ(lab.worker_->stats.rx() + second.stats.rx(), 4000u);
    EXPECT_EQ(lab.worker_->stats.flows_created() + second.stats.flows_created(), 4000u);
    // Affinity is shared: a client of worker 0 reaching worker 1 keeps its backend.
    lab.advance(4002);  // the lab clock to where the threads stopped (5002 s)
    uint32_t pinned_ip = 0;
    uint16_t pinned_port = 0;
    const auto* sp = lab.st->lookup(ip("10.96.0.30"), 6, 80).port;
    ASSERT_NE(sp, nullptr);
    ASSERT_TRUE(lab.shared->affinity().find(ip("198.51.100.1"), sp->id, 5002, pinned_ip, pinned_port));
    Pkt p = Pkt::tcp("198.51.100.1", 9999, "10.96.0.30", 80);
    p.eth_src = kRouterMac;
    p.eth_dst = kExtMac;
    lab.send(kExt, std::vector<std::vector<uint8_t>>{serialize(p)}, &second);
    EXPECT_EQ(lab.only_output(kPods).dst, pinned_ip);
}

}  // namespace
}  // namespace nfgate::test

// The exception path's worker side: what goes to the gateway's own kernel, what stays, the
// rate limit and a full ring (dataplane/engine/exception_queue.hpp).
#include <gtest/gtest.h>
#include <rte_ring.h>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::ExceptionQueue;
using engine::Reason;

// A Lab whose worker hands kernel-bound frames to a ring of `size` slots.
struct KernelLab {
    explicit KernelLab(unsigned size = 1024) {
        static int n = 0;
        ring = rte_ring_create(("test_exc_" + std::to_string(n++)).c_str(), size, SOCKET_ID_ANY,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
        EXPECT_NE(ring, nullptr);
        lab.worker_->exceptions.attach(ring);
    }
    ~KernelLab() {
        for (rte_mbuf* m : take()) rte_pktmbuf_free(m);
        rte_ring_free(ring);
    }
    std::vector<rte_mbuf*> take() {
        std::vector<rte_mbuf*> out;
        rte_mbuf* m;
        while (rte_ring_sc_dequeue(ring, reinterpret_cast<void**>(&m)) == 0) out.push_back(m);
        return out;
    }
    Lab lab;
    rte_ring* ring = nullptr;
};

TEST(EngineExceptions, TheGatewaysOwnTrafficGoesToItsKernelServiceTrafficDoesNot) {
    KernelLab k;
    Lab& lab = k.lab;
    // TCP to the node address on a port that is no NodePort: the kernel's (sshd, BIRD, ...).
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 4000, "192.0.2.1", 22, RTE_TCP_SYN_FLAG)));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.io.dropped, 0u);
    auto got = k.take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]->port, kExt) << "the mover writes it to this port's kernel interface";
    const Out o = parse_out(got[0]);
    EXPECT_EQ(o.dst, ip("192.0.2.1"));
    EXPECT_EQ(o.dport, 22) << "untouched";
    rte_pktmbuf_free(got[0]);
    EXPECT_EQ(lab.reason(Reason::exception_to_kernel), 1u);
    EXPECT_EQ(lab.reason(Reason::local_delivery_unsupported), 0u);

    // A NodePort and a ping stay with the worker.
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 4001, "192.0.2.1", 30080, RTE_TCP_SYN_FLAG)));
    EXPECT_EQ(lab.io.sent.size(), 1u);
    lab.send(kExt, from_router(Pkt::echo("198.51.100.7", "192.0.2.1", 7)));
    EXPECT_EQ(lab.only_output(kExt).icmp_type, 0) << "echo reply from the worker";
    EXPECT_TRUE(k.take().empty());

    // An ICMP error about the kernel's own UDP (no flow of ours): to the kernel.
    Pkt err = from_router(Pkt::echo("198.51.100.7", "192.0.2.1", 0));
    err.icmp_type = 3;
    err.icmp_code = 3;
    err.payload.assign(28, 0);  // (a quoted header matching no flow)
    lab.send(kExt, err);
    got = k.take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(parse_out(got[0]).icmp_type, 3);
    rte_pktmbuf_free(got[0]);

    // An ARP reply to the gateway (the kernel asked): learnt by the worker and heard by the kernel.
    const rte_ether_addr host{{0x02, 0x77, 0, 0, 0, 0x09}};
    lab.send(kExt, arp_frame(2, host, ip("192.0.2.9"), kExtMac, ip("192.0.2.1"), kExtMac));
    got = k.take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(parse_out(got[0]).arp_op, 2);
    rte_pktmbuf_free(got[0]);
    rte_ether_addr mac;
    EXPECT_TRUE(lab.shared->neighbours().lookup(ip("192.0.2.9"), mac, 0));
}

TEST(EngineExceptions, AFloodToTheBoxIsCutAtTheRateAndAFullRingDropsCounted) {
    KernelLab k;
    Lab& lab = k.lab;
    const auto frame = serialize(from_router(Pkt::udp("198.51.100.7", 4000, "192.0.2.1", 53)));
    unsigned sent = 0;
    while (sent < ExceptionQueue::kBurst + 100) {
        lab.send(kExt, std::vector<std::vector<uint8_t>>(32, frame));
        sent += 32;
    }
    const uint64_t limited = lab.reason(Reason::exception_rate_limited);
    EXPECT_EQ(lab.reason(Reason::exception_to_kernel), ExceptionQueue::kBurst) << "a burst's worth at one instant";
    EXPECT_EQ(limited, sent - ExceptionQueue::kBurst);
    std::vector<rte_mbuf*> queued = k.take();
    EXPECT_EQ(queued.size(), ExceptionQueue::kBurst);
    for (rte_mbuf* m : queued) rte_pktmbuf_free(m);
    lab.advance(1);  // a second later: kRatePps more, capped at kBurst
    lab.send(kExt, std::vector<std::vector<uint8_t>>(32, frame));
    EXPECT_EQ(lab.reason(Reason::exception_to_kernel), ExceptionQueue::kBurst + 32);

    KernelLab small(16);
    small.lab.send(kExt, std::vector<std::vector<uint8_t>>(32, frame));
    EXPECT_EQ(small.lab.reason(Reason::exception_queue_full), 32u - 15u) << "a 16-slot ring holds 15";
    EXPECT_EQ(small.lab.io.dropped, 32u - 15u);
}

}  // namespace
}  // namespace nfgate::test

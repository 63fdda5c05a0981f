// Per-frontend traffic: slots stay with their frontend across snapshots, and the workers count
// new connections, packets and bytes of a Service's connections in both directions.
#include <gtest/gtest.h>

#include <set>

#include "dataplane/engine/frontend_traffic.hpp"
#include "dataplane/engine/service_table.hpp"
#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

TEST(FrontendSlots, AFrontendKeepsItsSlotAndAGoneOneIsReusedLast) {
    engine::FrontendSlots slots;
    const engine::FrontendKey ka{1, 10}, kb{1, 11}, kc{2, 10}, kd{3, 7};
    const uint16_t a = slots.take(ka), b = slots.take(kb);
    EXPECT_NE(a, 0);
    EXPECT_NE(b, 0);
    EXPECT_NE(a, b);
    EXPECT_EQ(slots.take(ka), a) << "one key, one slot within a round";
    EXPECT_EQ(slots.finish(), (std::vector<uint16_t>{a, b}));

    EXPECT_EQ(slots.take(kb), b);  // ka is gone from this round
    const uint16_t c = slots.take(kc);
    EXPECT_NE(c, a) << "fresh slots come before freed ones";
    EXPECT_EQ(slots.finish(), (std::vector<uint16_t>{c}));

    // An abandoned round (its snapshot was refused) changes nothing.
    EXPECT_EQ(slots.take(kd), slots.take(kd));
    slots.abandon();
    EXPECT_EQ(slots.take(kb), b);
    EXPECT_EQ(slots.take(kc), c);
    EXPECT_TRUE(slots.finish().empty());
}

TEST(FrontendSlots, SnapshotsGiveEachFrontendTheSameSlot) {
    Model m = lab_model();
    engine::FrontendSlots slots;
    const std::vector<rte_ether_addr> macs(m.interfaces.size());
    std::string err;
    auto first = engine::build_service_table(m, macs, err, &slots);
    ASSERT_TRUE(first) << err;
    slots.finish();
    ASSERT_FALSE(first->frontends().empty());
    std::set<uint16_t> distinct;
    for (const auto& f : first->frontends()) {
        EXPECT_NE(f.slot, 0);
        distinct.insert(f.slot);
    }
    EXPECT_EQ(distinct.size(), first->frontends().size());

    m.services.front().ports.front().endpoints.pop_back();  // endpoints change, frontends do not
    auto second = engine::build_service_table(m, macs, err, &slots);
    ASSERT_TRUE(second) << err;
    EXPECT_TRUE(slots.finish().empty());
    for (const auto& f : first->frontends()) {
        const uint8_t proto = first->service_ports()[f.port_index]->proto;
        EXPECT_EQ(second->lookup(f.ip, proto, f.port).slot, f.slot);
    }
}

uint32_t ip_len(const Pkt& p) { return static_cast<uint32_t>(serialize(p).size()) - 14; }

TEST(FrontendTraffic, WorkersCountConnectionsPacketsAndBytesOfTheFrontend) {
    Lab lab;
    const uint32_t vip = 0x0a60000a;  // 10.96.0.10:80
    const uint16_t slot = lab.st->lookup(vip, 6, 80).slot;
    ASSERT_NE(slot, 0);
    const uint16_t other = lab.st->lookup(0x0a600035, 17, 53).slot;  // 10.96.0.53:53/UDP

    Pkt c = from_router(Pkt::tcp("198.51.100.7", 42000, "10.96.0.10", 80, RTE_TCP_SYN_FLAG));
    lab.send(kExt, c);
    const Out syn = lab.only_output(kPods);
    const Pkt reply = backend_reply(syn, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
    lab.send(kPods, reply);
    lab.only_output(kExt);
    c.tcp_flags = RTE_TCP_ACK_FLAG;
    lab.send(kExt, c);
    lab.only_output(kPods);

    const engine::FrontendTotals t = lab.worker_->frontends.read(slot);
    EXPECT_EQ(t.connections, 1u);
    EXPECT_EQ(t.packets, 3u) << "SYN, SYN-ACK and ACK: both directions";
    EXPECT_EQ(t.bytes, 2 * ip_len(c) + ip_len(reply));
    EXPECT_EQ(lab.worker_->frontends.read(other).packets, 0u) << "another frontend saw nothing";

    // A second connection from another port is one more connection.
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 42001, "10.96.0.10", 80, RTE_TCP_SYN_FLAG)));
    lab.only_output(kPods);
    EXPECT_EQ(lab.worker_->frontends.read(slot).connections, 2u);
}

}  // namespace
}  // namespace nfgate::test

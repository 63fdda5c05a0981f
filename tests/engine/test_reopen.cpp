// A closed TCP connection that the client reopens with the same 4-tuple (issue 14: "reuse of a
// 4-tuple after an endpoint removal"): like Linux, the old flow is killed and the SYN is a new
// connection, balanced against the Services as they are now.
#include <gtest/gtest.h>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

// Handshake and close of `c` (a SYN); returns the backend's address.
uint32_t open_and_close(Lab& lab, Pkt c) {
    lab.send(kExt, c);
    const Out syn = lab.only_output(kPods);
    lab.send(kPods, backend_reply(syn, net::kTcpSyn | net::kTcpAck));
    lab.only_output(kExt);
    c.tcp_flags = net::kTcpAck;
    lab.send(kExt, c);
    lab.only_output(kPods);
    c.tcp_flags = net::kTcpFin | net::kTcpAck;
    lab.send(kExt, c);
    lab.only_output(kPods);
    lab.send(kPods, backend_reply(syn, net::kTcpFin | net::kTcpAck));
    lab.only_output(kExt);
    c.tcp_flags = net::kTcpAck;
    lab.send(kExt, c);
    lab.only_output(kPods);
    const ct::FlowRef r = lab.shared->flows().lookup(ct::make_key(rte_cpu_to_be_32(c.src), rte_cpu_to_be_32(c.dst),
                                                                  rte_cpu_to_be_16(c.sport),
                                                                  rte_cpu_to_be_16(c.dport), c.proto));
    EXPECT_TRUE(r);
    if (r) {
        EXPECT_EQ(r.entry->tcp_state(), ct::TcpState::time_wait);
    }
    return syn.dst;
}

TEST(EngineReopen, SynOnTimeWaitIsANewConnectionToACurrentEndpoint) {
    Lab lab;
    const Pkt c = from_router(Pkt::tcp("198.51.100.7", 42424, "10.96.0.10", 80, net::kTcpSyn));
    const uint32_t old_backend = open_and_close(lab, c);

    Model m = lab.model;
    for (Service& s : m.services)
        if (s.name == "web")
            std::erase_if(s.ports[0].endpoints, [&](const Endpoint& e) { return e.ip == old_backend; });
    lab.update(m);

    const uint64_t created = lab.worker_->stats.flows_created();
    lab.send(kExt, c);
    const Out again = lab.only_output(kPods);
    EXPECT_NE(again.dst, old_backend) << "the removed endpoint must not get the reopened connection";
    EXPECT_EQ(again.dport, 8080);
    EXPECT_EQ(lab.worker_->stats.flows_created(), created + 1) << "a new flow, not the old one revived";
}

TEST(EngineReopen, SynOnTimeWaitWithTheEndpointStillThereConnects) {
    Lab lab;
    const Pkt c = from_router(Pkt::tcp("198.51.100.7", 42425, "10.96.0.10", 80, net::kTcpSyn));
    open_and_close(lab, c);
    lab.send(kExt, c);
    const Out again = lab.only_output(kPods);
    EXPECT_EQ(again.tcp_flags, net::kTcpSyn);
    EXPECT_EQ(lab.reason(engine::Reason::tcp_invalid_state), 0u);
}

}  // namespace
}  // namespace nfgate::test

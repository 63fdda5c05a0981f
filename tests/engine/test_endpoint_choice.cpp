// The fast path serves what model/endpoint_choice.hpp chooses: with every endpoint terminating
// but serving, a Service is served by them, not rejected; an endpoint that stops serving loses
// its UDP flows, one that only starts terminating keeps them.
#include <gtest/gtest.h>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::Reason;

Model with_web_endpoints(bool ready, bool serving, bool terminating) {
    Model m = lab_model();
    for (Service& s : m.services)
        if (s.name == "web" || s.name == "dns")
            for (ServicePort& p : s.ports)
                for (Endpoint& e : p.endpoints) {
                    e.ready = ready;
                    e.serving = serving;
                    e.terminating = terminating;
                }
    return m;
}

TEST(EngineEndpointChoice, TerminatingButServingEndpointsServeWhenNoneIsReady) {
    Lab lab(with_web_endpoints(false, true, true));
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 40000, "10.96.0.10", 80)));
    const Out o = lab.only_output(kPods);
    EXPECT_EQ(o.dport, 8080) << "served by a terminating endpoint";
    Lab gone(with_web_endpoints(false, false, true));
    gone.send(kExt, from_router(Pkt::tcp("198.51.100.7", 40000, "10.96.0.10", 80)));
    EXPECT_EQ(gone.only_output(kExt).tcp_flags & RTE_TCP_RST_FLAG, RTE_TCP_RST_FLAG) << "none serving: rejected";
}

TEST(EngineEndpointChoice, AUdpFlowStaysWithATerminatingEndpointWhileItServes) {
    Lab lab;
    const Pkt q = from_router(Pkt::udp("198.51.100.7", 5353, "10.96.0.53", 53));
    lab.send(kExt, q);
    const uint32_t first = lab.only_output(kPods).dst;
    // Its endpoint starts terminating (still serving; others ready): the flow stays.
    Model m = lab.model;
    for (Service& s : m.services)
        for (ServicePort& p : s.ports)
            for (Endpoint& e : p.endpoints)
                if (e.ip == first) {
                    e.ready = false;
                    e.serving = true;
                    e.terminating = true;
                }
    lab.update(m);
    lab.send(kExt, q);
    EXPECT_EQ(lab.only_output(kPods).dst, first);
    // It stops serving: the next datagram moves on.
    for (Service& s : m.services)
        for (ServicePort& p : s.ports)
            for (Endpoint& e : p.endpoints)
                if (e.ip == first) e.serving = false;
    lab.update(m);
    lab.send(kExt, q);
    EXPECT_NE(lab.only_output(kPods).dst, first);
}

}  // namespace
}  // namespace nfgate::test

// Several gateways behind ECMP: every one picks the same endpoint for the same connection, and
// one that never saw a connection takes it over mid-stream when it can (externalTrafficPolicy
// Local: no SNAT). Each Lab here is a separate gateway with its own tables.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::Reason;

// The lab model with `web` (three endpoints) on externalTrafficPolicy Local.
Model local_web(bool reversed) {
    Model m = lab_model();
    for (Service& s : m.services) {
        if (s.name != "web") continue;
        s.external_traffic_policy = TrafficPolicy::local;
        if (reversed)  // another box's loader may list them otherwise: the table must not care
            for (ServicePort& p : s.ports) std::reverse(p.endpoints.begin(), p.endpoints.end());
    }
    if (reversed) std::reverse(m.services.begin(), m.services.end());
    return m;
}

Pkt client_to_web(uint16_t sport, uint8_t flags) {
    return from_router(Pkt::tcp("198.51.100.7", sport, "192.0.2.50", 80, flags));  // web's externalIP
}

TEST(EngineEcmp, EveryGatewayPicksTheSameEndpointForTheSameConnection) {
    Lab a(local_web(false)), b(local_web(true));
    b.advance(12345);  // started at another time
    std::map<uint32_t, unsigned> spread;
    for (uint16_t sport = 20000; sport < 20300; ++sport) {
        a.send(kExt, client_to_web(sport, RTE_TCP_SYN_FLAG));
        b.send(kExt, client_to_web(sport, RTE_TCP_SYN_FLAG));
        const Out oa = a.only_output(kPods), ob = b.only_output(kPods);
        ASSERT_EQ(oa.dst, ob.dst) << "source port " << sport;
        EXPECT_EQ(oa.src, ip("198.51.100.7")) << "ETP Local keeps the client";
        ++spread[oa.dst];
    }
    EXPECT_EQ(spread.size(), 3u) << "all endpoints used";
}

// A snapshot built beside the one in force shares its unchanged service ports: it must pick
// exactly as one built afresh, and rebuild the ports that changed.
TEST(EngineEcmp, ASnapshotBuiltOnThePreviousPicksAsAFreshOne) {
    Model m = lab_model();
    const std::vector<rte_ether_addr> macs(m.interfaces.size());
    std::string err;
    auto before = engine::build_service_table(m, macs, err);
    ASSERT_TRUE(before) << err;
    size_t changed = 0;
    for (Service& s : m.services)
        for (ServicePort& p : s.ports)
            if (p.endpoints.size() > 1 && changed++ % 2 == 0) p.endpoints.pop_back();
    ASSERT_GT(changed, 1u);
    auto borrowed = engine::build_service_table(m, macs, err, nullptr, before.get());
    auto fresh = engine::build_service_table(m, macs, err);
    ASSERT_TRUE(borrowed && fresh) << err;
    ASSERT_EQ(borrowed->service_ports().size(), fresh->service_ports().size());
    size_t rebuilt = 0, shared = 0;
    for (size_t i = 0; i < fresh->service_ports().size(); ++i) {
        const auto& b = *borrowed->service_ports()[i];
        const auto& f = *fresh->service_ports()[i];
        EXPECT_EQ(b.name, f.name);
        EXPECT_EQ(b.backends, f.backends) << f.name;
        EXPECT_EQ(b.serving, f.serving) << f.name;
        EXPECT_EQ(b.maglev.table(), f.maglev.table()) << f.name;
        rebuilt += before->service_ports()[i]->maglev.table() != f.maglev.table();
        shared += before->service_ports()[i] == borrowed->service_ports()[i];
    }
    EXPECT_GT(shared, 0u) << "the unchanged ports are the snapshot in force's";
    EXPECT_EQ(shared + changed / 2 + changed % 2, fresh->service_ports().size());
    EXPECT_GT(rebuilt, 0u) << "the changed ports have other tables";
}

TEST(EngineEcmp, AnEtpLocalConnectionIsTakenOverMidStreamByAGatewayThatNeverSawIt) {
    Lab a(local_web(false)), b(local_web(false));
    a.send(kExt, client_to_web(41000, RTE_TCP_SYN_FLAG));
    const uint32_t endpoint = a.only_output(kPods).dst;

    // Gateway a goes away; the client's next segment reaches b.
    Pkt data = client_to_web(41000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
    data.payload = {'G', 'E', 'T'};
    b.send(kExt, data);
    const Out o = b.only_output(kPods);
    EXPECT_EQ(o.dst, endpoint) << "the endpoint gateway a chose";
    EXPECT_EQ(o.src, ip("198.51.100.7"));
    EXPECT_TRUE(o.l4_csum_ok);
    EXPECT_EQ(b.reason(Reason::tcp_picked_up), 1u);
    // Its answers go back to the client from the Service address.
    b.send(kPods, backend_reply(o, RTE_TCP_ACK_FLAG));
    const Out back = b.only_output(kExt);
    EXPECT_EQ(back.src, ip("192.0.2.50"));
    EXPECT_EQ(back.sport, 80);
    EXPECT_EQ(back.dst, ip("198.51.100.7"));
}

TEST(EngineEcmp, ConnectionsThatNeedSnatAndStrayFlagsAreNotTakenOver) {
    Lab b;  // web is externalTrafficPolicy Cluster here: its connections carry the other box's SNAT port
    b.send(kExt, client_to_web(41001, RTE_TCP_ACK_FLAG));
    EXPECT_TRUE(b.io.sent.empty());
    EXPECT_EQ(b.reason(Reason::tcp_invalid_no_syn), 1u);

    Lab l(local_web(false));
    for (uint8_t flags : {uint8_t(RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG), uint8_t(RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG),
                          uint8_t(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)}) {
        l.send(kExt, client_to_web(41002, flags));
        EXPECT_TRUE(l.io.sent.empty()) << int(flags);
    }
    // The ClusterIP of the same Local Service is not an external frontend.
    l.send(kExt, from_router(Pkt::tcp("198.51.100.7", 41003, "10.96.0.10", 80, RTE_TCP_ACK_FLAG)));
    EXPECT_TRUE(l.io.sent.empty());
    EXPECT_EQ(l.reason(Reason::tcp_picked_up), 0u);
}

// A spoofed ACK flood to a Local Service creates flows that never see an answer: a full table
// gives them up first (early drop), as it does half-open SYNs, and real connections still open.
TEST(EngineEcmp, PickedUpFlowsWithoutAnAnswerGiveWayInAFullTable) {
    LabOptions opt;
    opt.max_flows = 256;
    Lab l(local_web(false), opt);
    uint16_t sport = 1024;
    for (int i = 0; i < 600; ++i) l.send(kExt, client_to_web(sport++, RTE_TCP_ACK_FLAG));
    EXPECT_GT(l.reason(Reason::flow_table_full), 0u);
    EXPECT_GT(l.shared->flows().stats().early_dropped, 0u) << "the unanswered picked-up flows gave way";
    l.send(kExt, client_to_web(60000, RTE_TCP_SYN_FLAG));
    l.age_all();  // the given-up entries come back once every worker passed a quiescent state
    l.send(kExt, client_to_web(60000, RTE_TCP_SYN_FLAG));  // the retransmission finds room
    EXPECT_EQ(l.io.sent.size(), 1u);
}

}  // namespace
}  // namespace nfgate::test

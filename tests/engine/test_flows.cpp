// Flow behaviour over many packets and time: TCP state machine with an injected clock, table
// and SNAT exhaustion, UDP flows of removed endpoints, Maglev spread and ClientIP affinity.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::Reason;


ct::TcpState state_of(Lab& lab, const Pkt& client_pkt) {
    const ct::FlowKey k = ct::make_key(rte_cpu_to_be_32(client_pkt.src), rte_cpu_to_be_32(client_pkt.dst),
                                       rte_cpu_to_be_16(client_pkt.sport), rte_cpu_to_be_16(client_pkt.dport),
                                       client_pkt.proto);
    ct::FlowRef r = lab.shared->flows().lookup(k);
    return r ? r.entry->tcp_state() : ct::TcpState::none;
}

TEST(EngineFlows, TcpHandshakeFinAndTimeWaitAgeing) {
    Lab lab;
    Pkt c = from_router(Pkt::tcp("198.51.100.7", 41000, "10.96.0.10", 80, RTE_TCP_SYN_FLAG));
    lab.send(kExt, c);
    const Out syn = lab.only_output(kPods);
    EXPECT_EQ(state_of(lab, c), ct::TcpState::syn_sent);

    lab.send(kPods, backend_reply(syn, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
    lab.only_output(kExt);
    EXPECT_EQ(state_of(lab, c), ct::TcpState::syn_recv);

    c.tcp_flags = RTE_TCP_ACK_FLAG;
    lab.send(kExt, c);
    EXPECT_EQ(lab.only_output(kPods).dst, syn.dst);  // same backend for the whole connection
    EXPECT_EQ(state_of(lab, c), ct::TcpState::established);

    // Established flows outlive short timeouts.
    lab.advance(3600);
    lab.age_all();
    EXPECT_EQ(state_of(lab, c), ct::TcpState::established);

    c.tcp_flags = RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG;
    lab.send(kExt, c);
    lab.only_output(kPods);
    EXPECT_EQ(state_of(lab, c), ct::TcpState::fin_wait);
    lab.send(kPods, backend_reply(syn, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG));
    lab.only_output(kExt);
    EXPECT_EQ(state_of(lab, c), ct::TcpState::last_ack);
    c.tcp_flags = RTE_TCP_ACK_FLAG;
    lab.send(kExt, c);
    lab.only_output(kPods);
    EXPECT_EQ(state_of(lab, c), ct::TcpState::time_wait);

    // TIME_WAIT lasts 120 s: after that the flow is gone and a stray ACK is invalid.
    lab.advance(60);
    lab.age_all();
    EXPECT_EQ(state_of(lab, c), ct::TcpState::time_wait);
    lab.advance(61);
    lab.age_all();
    EXPECT_EQ(state_of(lab, c), ct::TcpState::none);
    const uint64_t invalid = lab.reason(Reason::tcp_invalid_no_syn);
    lab.send(kExt, c);
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::tcp_invalid_no_syn), invalid + 1);
}

TEST(EngineFlows, RstClosesAndSynSentExpires) {
    Lab lab;
    Pkt c = from_router(Pkt::tcp("198.51.100.7", 41001, "10.96.0.10", 80));
    lab.send(kExt, c);
    const Out syn = lab.only_output(kPods);
    lab.send(kPods, backend_reply(syn, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG));
    EXPECT_EQ(lab.only_output(kExt).tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
    EXPECT_EQ(state_of(lab, c), ct::TcpState::close);

    Pkt d = from_router(Pkt::tcp("198.51.100.7", 41002, "10.96.0.10", 80));
    lab.send(kExt, d);
    lab.only_output(kPods);
    lab.advance(121);  // SYN_SENT times out after 120 s
    lab.age_all();
    EXPECT_EQ(state_of(lab, d), ct::TcpState::none);
}

TEST(EngineFlows, SynAckFromClientIsInvalid) {
    Lab lab;
    Pkt c = from_router(Pkt::tcp("198.51.100.7", 41003, "10.96.0.10", 80));
    lab.send(kExt, c);
    lab.only_output(kPods);
    c.tcp_flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;  // the client cannot answer its own SYN
    lab.send(kExt, c);
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::tcp_invalid_state), 1u);
}

TEST(EngineFlows, FullTableRefusesNewFlowsButKeepsExisting) {
    LabOptions opt;
    opt.max_flows = 64;
    Lab lab(lab_model(), opt);
    // One established connection, then half-open ones until the table refuses.
    Pkt first = from_pod(Pkt::tcp("10.244.9.9", 20000, "10.96.0.10", 80));
    lab.send(kPods, first);
    const Out syn = lab.only_output(kPods);
    lab.send(kPods, backend_reply(syn, net::kTcpSyn | net::kTcpAck));
    lab.only_output(kPods);
    first.tcp_flags = net::kTcpAck;
    lab.send(kPods, first);
    lab.only_output(kPods);
    ASSERT_EQ(state_of(lab, first), ct::TcpState::established);
    unsigned created = 1;
    for (uint16_t port = 20001; port < 20400 && lab.reason(Reason::flow_table_full) == 0; ++port) {
        lab.send(kPods, from_pod(Pkt::tcp("10.244.9.9", port, "10.96.0.10", 80)));
        created += lab.io.sent.size();
    }
    EXPECT_EQ(lab.reason(Reason::flow_table_full), 1u);
    EXPECT_LE(created, 64u);
    // The established connection still forwards: a full table gives up half-open flows only.
    lab.send(kPods, first);
    const Out o = lab.only_output(kPods);
    EXPECT_EQ(o.sport, 20000);
}

TEST(EngineFlows, SnatPortExhaustionIsCounted) {
    LabOptions opt;
    opt.snat_port_min = 50000;
    opt.snat_port_max = 50003;
    Lab lab(lab_model(), opt);
    std::set<uint16_t> ports;
    for (uint16_t p = 0; p < 4; ++p) {
        lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", uint16_t(42000 + p), "10.96.0.10", 80)));
        ports.insert(lab.only_output(kPods).sport);
    }
    EXPECT_EQ(ports, (std::set<uint16_t>{50000, 50001, 50002, 50003}));
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 42004, "10.96.0.10", 80)));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::snat_ports_exhausted), 1u);
    // Clients inside the cluster need no SNAT port and still get through.
    lab.send(kPods, from_pod(Pkt::tcp("10.244.9.9", 42005, "10.96.0.10", 80)));
    lab.only_output(kPods);
}

TEST(EngineFlows, UdpFlowMovesAtOnceWhenItsEndpointIsRemoved) {
    Lab lab;
    const Pkt q = from_pod(Pkt::udp("10.244.9.9", 53000, "10.96.0.53", 53));
    lab.send(kPods, q);
    const uint32_t first = lab.only_output(kPods).dst;
    lab.send(kPods, q);
    EXPECT_EQ(lab.only_output(kPods).dst, first);

    Model m = lab.model;
    for (Service& s : m.services)
        if (s.name == "dns")
            std::erase_if(s.ports[0].endpoints, [&](const Endpoint& e) { return e.ip == first; });
    lab.update(m);
    lab.send(kPods, q);
    const Out moved = lab.only_output(kPods);
    EXPECT_NE(moved.dst, first);
    EXPECT_EQ(moved.dport, 5353);
    lab.send(kPods, q);
    EXPECT_EQ(lab.only_output(kPods).dst, moved.dst);
}

// Two Services share one backend; it leaves only the first. kube-proxy clears UDP conntrack per
// (Service frontend, endpoint): the first Service's flow is balanced again at once, the second's
// keeps its backend.
TEST(EngineFlows, UdpFlowMovesOnlyForTheServiceThatLostTheSharedEndpoint) {
    Model m = lab_model();
    Service second;
    second.ns = "kube-system";
    second.name = "dns-copy";
    second.cluster_ips = {ip("10.96.0.54")};
    ServicePort sp;
    sp.name = "dns";
    sp.proto = Proto::udp;
    sp.port = 53;
    sp.endpoints = {Endpoint{ip("10.244.2.10"), 5353, true}, Endpoint{ip("10.244.2.11"), 5353, true}};
    second.ports = {sp};
    m.services.push_back(second);
    Lab lab(m);

    // One flow per Service that lands on the shared backend 10.244.2.10 (distinct clients: the
    // clients are pods, not source-NATed, so equal client ports would give equal reply keys).
    auto flow_on_shared = [&](const char* client, const char* vip, Pkt& out) {
        for (uint16_t sport = 50000; sport < 50200; ++sport) {
            const Pkt q = from_pod(Pkt::udp(client, sport, vip, 53));
            lab.send(kPods, q);
            if (lab.only_output(kPods).dst == ip("10.244.2.10")) {
                out = q;
                return true;
            }
        }
        return false;
    };
    Pkt first_q, second_q;
    ASSERT_TRUE(flow_on_shared("10.244.9.9", "10.96.0.53", first_q));
    ASSERT_TRUE(flow_on_shared("10.244.9.8", "10.96.0.54", second_q));

    Model reloaded = lab.model;
    for (Service& s : reloaded.services)
        if (s.name == "dns") std::erase_if(s.ports[0].endpoints, [](const Endpoint& e) { return e.ip == ip("10.244.2.10"); });
    lab.update(reloaded);

    lab.send(kPods, first_q);
    const Out moved = lab.only_output(kPods);
    EXPECT_EQ(moved.dst, ip("10.244.2.11"));
    EXPECT_EQ(moved.dport, 5353);
    lab.send(kPods, second_q);
    const Out stayed = lab.only_output(kPods);
    EXPECT_EQ(stayed.dst, ip("10.244.2.10"));
    EXPECT_EQ(stayed.dport, 5353);
}

TEST(EngineFlows, MaglevSpreadsFlowsAcrossEndpoints) {
    Lab lab;
    std::map<uint32_t, unsigned> per_backend;
    constexpr unsigned kFlows = 3000;
    for (unsigned i = 0; i < kFlows; ++i) {
        Pkt p = from_pod(Pkt::tcp("10.244.9.9", uint16_t(10000 + i), "10.96.0.10", 80));
        p.src = ip("10.244.9.9") + (i % 7);  // vary the client too
        lab.send(kPods, p);
        ASSERT_EQ(lab.io.sent.size(), 1u);
        ++per_backend[parse_out(lab.io.sent[0].m).dst];
    }
    ASSERT_EQ(per_backend.size(), 3u);
    for (auto [backend, n] : per_backend) {
        EXPECT_GT(n, kFlows / 3 * 8 / 10) << ip_to_string(backend);
        EXPECT_LT(n, kFlows / 3 * 12 / 10) << ip_to_string(backend);
    }
}

TEST(EngineFlows, ClientIpAffinityPinsAClientUntilTimeout) {
    Lab lab;
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.9", 30000, "10.96.0.30", 80)));
    const uint32_t pinned = lab.only_output(kPods).dst;
    for (uint16_t port = 30001; port < 30040; ++port) {
        lab.send(kExt, from_router(Pkt::tcp("198.51.100.9", port, "10.96.0.30", 80)));
        ASSERT_EQ(lab.only_output(kPods).dst, pinned);
    }
    // Other clients are spread.
    std::set<uint32_t> seen;
    for (unsigned i = 0; i < 64; ++i) {
        Pkt p = from_router(Pkt::tcp("198.51.100.9", 30100, "10.96.0.30", 80));
        p.src = ip("198.51.100.10") + i;
        lab.send(kExt, p);
        seen.insert(lab.only_output(kPods).dst);
    }
    EXPECT_GT(seen.size(), 1u);
    // Past timeoutSeconds without a new connection the pin is gone: new connections are
    // balanced again (some land elsewhere).
    lab.advance(61);
    std::set<uint32_t> after;
    for (uint16_t port = 31000; port < 31040; ++port) {
        lab.send(kExt, from_router(Pkt::tcp("198.51.100.9", port, "10.96.0.30", 80)));
        after.insert(lab.only_output(kPods).dst);
    }
    EXPECT_TRUE(after.count(pinned));
}

TEST(EngineFlows, ReplyOnAnotherWorkerIsTranslated) {
    LabOptions opt;
    opt.workers = 2;
    Lab lab(lab_model(), opt);
    engine::WorkerContext second(*lab.shared, 1);
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 43000, "10.96.0.10", 80)));
    const Out syn = lab.only_output(kPods);
    lab.send(kPods, std::vector<std::vector<uint8_t>>{serialize(backend_reply(syn, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG))},
             &second);
    const Out back = lab.only_output(kExt);
    EXPECT_EQ(back.src, ip("10.96.0.10"));
    EXPECT_EQ(back.dport, 43000);
    EXPECT_TRUE(back.l4_csum_ok);
    EXPECT_EQ(second.stats.forwarded_nat(), 1u);
    EXPECT_EQ(second.stats.flows_created(), 0u);

    // Each worker takes SNAT ports from its own slice: a flow opened on worker 1 gets a port
    // no flow of worker 0 can hold.
    lab.send(kExt, std::vector<std::vector<uint8_t>>{serialize(from_router(Pkt::tcp("198.51.100.7", 43001, "10.96.0.10", 80)))},
             &second);
    const Out other = lab.only_output(kPods);
    const auto& snat = lab.shared->snat();
    EXPECT_GE(other.sport, snat.slice_first(1));
    EXPECT_LE(other.sport, snat.slice_last(1));
    EXPECT_GE(syn.sport, snat.slice_first(0));
    EXPECT_LE(syn.sport, snat.slice_last(0));
}

// Destinations resolved in one burst are remembered for the next; a neighbour's new MAC or a
// new snapshot's routes must win over that memory at once.
TEST(EngineArp, RememberedNextHopFollowsMacAndRouteChanges) {
    Lab lab;
    const Pkt p = from_pod(Pkt::udp("10.244.9.9", 5555, "203.0.113.9", 53));
    lab.send(kPods, p);
    EXPECT_EQ(mac_str(lab.only_output(kExt).eth_dst), mac_str(kRouterMac));

    const rte_ether_addr moved{{0x02, 0x55, 0, 0, 0, 0x01}};
    lab.shared->neighbours().learn(ip("192.0.2.254"), moved, kExt, 1);
    lab.send(kPods, p);
    EXPECT_EQ(mac_str(lab.only_output(kExt).eth_dst), mac_str(moved));

    Model m = lab.model;
    m.routes.push_back(Route{Cidr{ip("203.0.113.0"), 24}, ip("192.0.2.253")});
    lab.update(m);
    const rte_ether_addr other{{0x02, 0x55, 0, 0, 0, 0x02}};
    lab.shared->neighbours().learn(ip("192.0.2.253"), other, kExt, 1);
    lab.send(kPods, p);
    EXPECT_EQ(mac_str(lab.only_output(kExt).eth_dst), mac_str(other));

    // Only a new snapshot, the neighbour table unchanged since the last burst.
    lab.update(lab_model());
    lab.send(kPods, p);
    EXPECT_EQ(mac_str(lab.only_output(kExt).eth_dst), mac_str(moved));
}

TEST(EngineFlows, WorkerStatsCountThePacketAndItsReason) {
    Lab lab;
    lab.send(kExt, from_router(Pkt::tcp("198.51.100.7", 40008, "10.96.5.5", 80)));
    const engine::WorkerStats& stats = lab.worker_->stats;
    EXPECT_EQ(stats.rx(), 1u);
    EXPECT_EQ(stats.reason(engine::Reason::unallocated_cluster_ip), 1u);
    EXPECT_EQ(stats.forwarded_nat() + stats.forwarded_plain(), 0u);
}

TEST(EngineArp, GratuitousAnnouncementsCoverEveryAnsweredAddress) {
    Lab lab;
    const auto& ext = lab.st->arp_addresses(kExt);
    EXPECT_EQ(std::set<uint32_t>(ext.begin(), ext.end()),
              (std::set<uint32_t>{ip("192.0.2.1"), ip("192.0.2.50"), ip("192.0.2.100")}));
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    ASSERT_NE(m, nullptr);
    engine::build_garp(m, lab.st->ifaces()[kExt], ip("192.0.2.100"));
    const Out o = parse_out(m);
    EXPECT_EQ(o.arp_op, 1);
    EXPECT_EQ(o.arp_sip, ip("192.0.2.100"));
    EXPECT_EQ(o.arp_tip, ip("192.0.2.100"));
    EXPECT_EQ(mac_str(o.eth_dst), "ff:ff:ff:ff:ff:ff");
    EXPECT_EQ(mac_str(o.arp_sha), mac_str(kExtMac));
    engine::build_garp(m, lab.st->ifaces()[kPods]);
    EXPECT_EQ(parse_out(m).arp_sip, ip("10.244.0.1"));
    rte_pktmbuf_free(m);
}

TEST(EngineServiceTable, RejectsRouteWithUnreachableGateway) {
    Model m = lab_model();
    m.routes.push_back(Route{Cidr{ip("203.0.113.0"), 24}, ip("198.18.0.1")});
    const rte_ether_addr macs[] = {kExtMac, kPodsMac};
    std::string err;
    EXPECT_EQ(engine::build_service_table(m, macs, err), nullptr);
    EXPECT_NE(err.find("routes[1].via: 198.18.0.1"), std::string::npos) << err;
}

TEST(EngineServiceTable, LooksUpEveryServiceAddressKind) {
    Lab lab;
    const auto& st = *lab.st;
    using engine::VipKind;
    EXPECT_EQ(st.lookup(ip("10.96.0.10"), 6, 80).kind, VipKind::cluster_ip);
    EXPECT_EQ(st.lookup(ip("192.0.2.50"), 6, 80).kind, VipKind::external_ip);
    EXPECT_EQ(st.lookup(ip("192.0.2.100"), 6, 443).kind, VipKind::lb_ip);
    EXPECT_EQ(st.lookup(ip("192.0.2.1"), 6, 30080).kind, VipKind::node_port);
    EXPECT_EQ(st.lookup(ip("10.96.0.10"), 17, 80).port, nullptr);
    EXPECT_EQ(st.lookup(ip("10.96.0.10"), 6, 80).port->backends.size(), 3u);
    EXPECT_TRUE(st.serves(ip("10.96.0.53"), 17, 53, ip("10.244.2.10"), 5353));
    EXPECT_FALSE(st.serves(ip("10.96.0.53"), 17, 53, ip("10.244.2.10"), 53));
    EXPECT_FALSE(st.serves(ip("10.96.0.53"), 6, 53, ip("10.244.2.10"), 5353));
    EXPECT_FALSE(st.serves(ip("10.96.0.10"), 6, 80, ip("10.244.2.10"), 5353));
    EXPECT_TRUE(st.serves(ip("192.0.2.1"), 6, 30080, ip("10.244.1.11"), 8080));
}

}  // namespace
}  // namespace nfgate::test

// The shipped fast path (EAL ports, worker lcore, engine burst function, RCU publishing) with
// one worker, driven through net_ring ports: a client reaches a ClusterIP Service, the backend's
// replies come back translated, update() moves new connections and refuses restart changes.
#include <gtest/gtest.h>

#include <thread>

#include "tests/fastpath/nat_fixture.hpp"

namespace nfgate::test {
namespace {

std::string bytes_hex(const std::vector<uint8_t>& v) {
    std::string s;
    char b[4];
    for (uint8_t x : v) {
        std::snprintf(b, sizeof b, "%02x ", x);
        s += b;
    }
    return s;
}

class FastPathNat : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        init_test_eal({"--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--log-level=*:warning"});
    }
    void SetUp() override {
        std::string err;
        model_ = nat_model(1, {"10.244.1.10"});
        ASSERT_TRUE(bench_.start(model_, err)) << err;
    }

    Model model_;
    NatBench bench_{"nat1", 1};
};

// Client 192.0.2.10 is outside clusterCIDRs: DNAT to the endpoint and SNAT to the gateway's
// pod-side address (externalTrafficPolicy Cluster), and the reverse on the way back.
TEST_F(FastPathNat, TcpHandshakeIsTranslatedBothWays) {
    auto syn = bench_.send(kExt, Pkt::tcp("192.0.2.10", 40000, "10.96.0.10", 80, 0x02));
    ASSERT_TRUE(syn);
    ASSERT_EQ(syn->iface, kPods);
    const Out& o = syn->out;
    EXPECT_EQ(o.dst, ip("10.244.1.10"));
    EXPECT_EQ(o.dport, 8080);
    EXPECT_EQ(o.src, ip("10.244.0.1"));
    EXPECT_EQ(o.tcp_flags, 0x02);
    EXPECT_EQ(o.ttl, 63);
    EXPECT_TRUE(o.ip_csum_ok);
    EXPECT_TRUE(o.l4_csum_ok) << bytes_hex(o.l4_bytes) << " src " << ip_to_string(o.src) << " dst " << ip_to_string(o.dst);
    EXPECT_EQ(mac_str(o.eth_dst), mac_str(host_mac(ip("10.244.1.10"))));
    EXPECT_EQ(mac_str(o.eth_src), mac_str(bench_.gateway_mac(kPods)));
    const uint16_t snat_port = o.sport;

    Pkt synack = Pkt::tcp("10.244.1.10", 8080, "10.244.0.1", snat_port, 0x12);
    synack.eth_src = host_mac(ip("10.244.1.10"));
    auto back = bench_.send(kPods, synack);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->iface, kExt);
    EXPECT_EQ(back->out.src, ip("10.96.0.10"));
    EXPECT_EQ(back->out.sport, 80);
    EXPECT_EQ(back->out.dst, ip("192.0.2.10"));
    EXPECT_EQ(back->out.dport, 40000);
    EXPECT_EQ(back->out.tcp_flags, 0x12);
    EXPECT_TRUE(back->out.ip_csum_ok);
    EXPECT_TRUE(back->out.l4_csum_ok);
    EXPECT_EQ(mac_str(back->out.eth_dst), mac_str(host_mac(ip("192.0.2.10"))));

    auto ack = bench_.send(kExt, Pkt::tcp("192.0.2.10", 40000, "10.96.0.10", 80, 0x10));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->iface, kPods);
    EXPECT_EQ(ack->out.sport, snat_port);
    EXPECT_EQ(ack->out.dst, ip("10.244.1.10"));

    const fastpath::Counters c = bench_.fast_path().counters();
    const fastpath::WorkerCounters all = c.total();
    EXPECT_GE(c.flows_in_use, 1u);
    EXPECT_EQ(c.flow_capacity, model_.max_flows);
    EXPECT_GE(all.forwarded_nat, 3u);
    EXPECT_GE(all.rx_packets, 3u);
    EXPECT_GE(all.tx_packets, 3u);
    ASSERT_EQ(c.ports.size(), 2u);
    EXPECT_EQ(c.ports[kExt].name, "ext");
    EXPECT_EQ(c.ports[kExt].tx_ring_full, 0u);
    EXPECT_EQ(c.ports[kExt].rx_packets + c.ports[kPods].rx_packets, all.rx_packets) << "ports and workers see the same packets";
    EXPECT_EQ(c.reason(engine::Reason::flow_table_full), 0u);
}

TEST_F(FastPathNat, UpdateMovesNewConnectionsAndKeepsEstablishedOnes) {
    auto first = bench_.send(kExt, Pkt::tcp("192.0.2.10", 41000, "10.96.0.10", 80, 0x02));
    ASSERT_TRUE(first);
    EXPECT_EQ(first->out.dst, ip("10.244.1.10"));
    Pkt synack = Pkt::tcp("10.244.1.10", 8080, "10.244.0.1", first->out.sport, 0x12);
    ASSERT_TRUE(bench_.send(kPods, synack));
    ASSERT_TRUE(bench_.send(kExt, Pkt::tcp("192.0.2.10", 41000, "10.96.0.10", 80, 0x10)));

    std::string err;
    Model next = bench_.with_ports(nat_model(1, {"10.244.1.11"}));
    ASSERT_TRUE(bench_.fast_path().update(next, err)) << err;

    auto fresh = bench_.send(kExt, Pkt::tcp("192.0.2.10", 41001, "10.96.0.10", 80, 0x02));
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->out.dst, ip("10.244.1.11"));
    // The established TCP flow stays pinned to its endpoint (kube-proxy leaves TCP conntrack).
    auto again = bench_.send(kExt, Pkt::tcp("192.0.2.10", 41000, "10.96.0.10", 80, 0x10));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->out.dst, ip("10.244.1.10"));
}

TEST_F(FastPathNat, RestartChangesAreRefusedAndChangeNothing) {
    std::string err;
    Model next = bench_.with_ports(nat_model(2, {"10.244.1.12"}));
    EXPECT_FALSE(bench_.fast_path().update(next, err));
    EXPECT_NE(err.find("workers"), std::string::npos) << err;

    auto syn = bench_.send(kExt, Pkt::tcp("192.0.2.10", 42000, "10.96.0.10", 80, 0x02));
    ASSERT_TRUE(syn);
    EXPECT_EQ(syn->out.dst, ip("10.244.1.10"));
}

TEST_F(FastPathNat, RemovedUdpEndpointLosesItsFlowsAtOnce) {
    std::string err;
    Model two = bench_.with_ports(nat_model(1, {"10.244.1.10", "10.244.1.11"}));
    ASSERT_TRUE(bench_.fast_path().update(two, err)) << err;
    auto first = bench_.send(kExt, Pkt::udp("192.0.2.10", 43000, "10.96.0.10", 53));
    ASSERT_TRUE(first);
    ASSERT_EQ(first->iface, kPods);
    const uint32_t chosen = first->out.dst;
    const char* other = chosen == ip("10.244.1.10") ? "10.244.1.11" : "10.244.1.10";

    Model one = bench_.with_ports(nat_model(1, {other}));
    ASSERT_TRUE(bench_.fast_path().update(one, err)) << err;
    auto next = bench_.send(kExt, Pkt::udp("192.0.2.10", 43000, "10.96.0.10", 53));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->out.dst, ip(other));
    EXPECT_EQ(next->out.dport, 5353);
}

TEST_F(FastPathNat, AnnouncesEachInterfaceWithGratuitousArp) {
    ASSERT_EQ(bench_.announcements().size(), 2u);
    for (const auto& a : bench_.announcements()) {
        EXPECT_EQ(a.out.ether_type, RTE_ETHER_TYPE_ARP);
        const uint32_t addr = a.iface == kExt ? ip("192.0.2.1") : ip("10.244.0.1");
        EXPECT_EQ(a.out.arp_sip, addr);
        EXPECT_EQ(a.out.arp_tip, addr);
        EXPECT_EQ(mac_str(a.out.arp_sha), mac_str(bench_.gateway_mac(a.iface)));
    }
}

// With IPv6 addresses, each is announced as well: an unsolicited neighbour advertisement to
// all nodes (RFC 4861 7.2.6), from the port's MAC.
TEST(FastPathAnnounce, AnnouncesIPv6AddressesWithUnsolicitedAdvertisements) {
    init_test_eal({"--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--log-level=*:warning"});
    NatBench bench{"nat6", 1};
    Model m = nat_model(1, {"10.244.1.10"});
    std::string err;
    Model with = bench.with_ports(m);
    with.interfaces[kExt].addresses6 = {IfAddr6{Ip6{{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}, 64}};
    ASSERT_TRUE(bench.start(with, err)) << err;
    unsigned arp = 0, na = 0;
    for (const auto& a : bench.announcements()) {
        if (a.out.ether_type == RTE_ETHER_TYPE_ARP) ++arp;
        if (a.out.ether_type != RTE_ETHER_TYPE_IPV6) continue;
        ++na;
        EXPECT_EQ(a.iface, kExt);
        EXPECT_EQ(mac_str(a.out.eth_src), mac_str(bench.gateway_mac(kExt)));
        EXPECT_EQ(mac_str(a.out.eth_dst), "33:33:00:00:00:01");
    }
    EXPECT_EQ(arp, 2u);
    EXPECT_EQ(na, 1u);
    bench.stop();
}

TEST_F(FastPathNat, AnnouncesAVipThatMovesIntoASubnetOnUpdate) {
    std::string err;
    Model next = bench_.with_ports(nat_model(1, {"10.244.1.10"}));
    next.services[0].external_ips = {ip("192.0.2.100")};
    ASSERT_TRUE(bench_.fast_path().update(next, err)) << err;
    auto sent = bench_.collect(std::chrono::milliseconds(100));
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].iface, kExt);
    EXPECT_EQ(sent[0].out.arp_sip, ip("192.0.2.100"));
    EXPECT_EQ(sent[0].out.arp_tip, ip("192.0.2.100"));
    EXPECT_EQ(mac_str(sent[0].out.arp_sha), mac_str(bench_.gateway_mac(kExt)));
    // Nothing new to announce the second time.
    ASSERT_TRUE(bench_.fast_path().update(next, err)) << err;
    EXPECT_TRUE(bench_.collect(std::chrono::milliseconds(50)).empty());
}

TEST_F(FastPathNat, AnswersPingForItsAddress) {
    Pkt ping = Pkt::echo("192.0.2.10", "192.0.2.1", 7);
    auto reply = bench_.send(kExt, ping);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->iface, kExt);
    EXPECT_EQ(reply->out.icmp_type, 0);
    EXPECT_EQ(reply->out.src, ip("192.0.2.1"));
    EXPECT_EQ(reply->out.dst, ip("192.0.2.10"));
    EXPECT_TRUE(reply->out.l4_csum_ok);
    EXPECT_GE(bench_.fast_path().counters().reason(engine::Reason::echo_reply_sent), 1u);
}

}  // namespace
}  // namespace nfgate::test

namespace nfgate::test {
namespace {

// The control API's `flows` on the fast path: the table walked while the worker runs shows the
// connection the test made, both directions as translated.
class FastPathFlowList : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        init_test_eal({"--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--log-level=*:warning"});
    }
    NatBench bench_{"natlist", 1};
};

TEST_F(FastPathFlowList, ListsTheNatedConnectionWithBothDirections) {
    std::string err;
    ASSERT_TRUE(bench_.start(nat_model(1, {"10.244.1.10"}), err)) << err;
    auto syn = bench_.send(kExt, Pkt::tcp("192.0.2.10", 40000, "10.96.0.10", 80, 0x02));
    ASSERT_TRUE(syn);
    const uint16_t snat_port = syn->out.sport;
    std::vector<TrackedFlow> flows;
    ASSERT_TRUE(bench_.fast_path().list_flows([&](const TrackedFlow& f) {
        flows.push_back(f);
        return true;
    }, err)) << err;
    ASSERT_EQ(flows.size(), 1u);
    const TrackedFlow& f = flows[0];
    EXPECT_EQ(f.proto, 6);
    EXPECT_EQ(f.orig, (FlowTuple{ip("192.0.2.10"), ip("10.96.0.10"), 40000, 80}));
    EXPECT_EQ(f.reply, (FlowTuple{ip("10.244.1.10"), ip("10.244.0.1"), 8080, snat_port}));
    EXPECT_EQ(f.state, "SYN_SENT");
    ASSERT_TRUE(f.timeout_s.has_value());
    EXPECT_GT(*f.timeout_s, 100u);  // Linux's 120 s for SYN_SENT, less the second or so it took
    EXPECT_LE(*f.timeout_s, 120u);
    ASSERT_TRUE(f.age_s.has_value());
    EXPECT_LE(*f.age_s, 5u);
    bench_.stop();
    EXPECT_FALSE(bench_.fast_path().list_flows([](const TrackedFlow&) { return true; }, err));
}

}  // namespace
}  // namespace nfgate::test

namespace nfgate::test {
namespace {

uint32_t ipv4_at(const fastpath::CapturedFrame& f, size_t offset) {
    // Ethernet (14) + IPv4 source at 12, destination at 16.
    const auto* b = f.bytes.data() + 14 + offset;
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

// `nfgatectl capture` on the fast path: an armed capture copies what arrives on an interface
// (before translation) and what leaves it (after), up to the count, then stops by itself.
TEST_F(FastPathFlowList, CaptureCopiesRxAndTxOfOneInterfaceUpToTheCount) {
    std::string err;
    ASSERT_TRUE(bench_.start(nat_model(1, {"10.244.1.10"}), err)) << err;
    fastpath::FastPath& fp = bench_.fast_path();
    struct Copy {
        bool tx;
        uint16_t iface;
        uint32_t src, dst, wire_len;
        size_t len;
    };
    auto drain = [&](size_t at_least) {
        std::vector<Copy> got;
        for (int i = 0; i < 200 && got.size() < at_least; ++i) {
            fp.drain_capture([&](const fastpath::CapturedFrame& f) {
                got.push_back({f.tx, f.iface, ipv4_at(f, 12), ipv4_at(f, 16), f.wire_len, f.bytes.size()});
            });
            if (got.size() < at_least) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return got;
    };
    fastpath::CaptureRequest r;
    r.iface = kExt;
    r.count = 64;
    ASSERT_TRUE(fp.arm_capture(r, err)) << err;
    EXPECT_FALSE(fp.arm_capture(r, err)) << "one capture at a time";
    auto syn = bench_.send(kExt, Pkt::tcp("192.0.2.10", 40001, "10.96.0.10", 80, 0x02));
    ASSERT_TRUE(syn);
    Pkt synack = Pkt::tcp("10.244.1.10", 8080, "10.244.0.1", syn->out.sport, 0x12);
    synack.eth_src = host_mac(ip("10.244.1.10"));
    ASSERT_TRUE(bench_.send(kPods, synack));
    const std::vector<Copy> got = drain(2);
    fp.disarm_capture();
    bool rx_before_dnat = false, tx_translated_back = false;
    for (const Copy& c : got) {
        EXPECT_EQ(c.iface, kExt) << "only the armed interface";
        EXPECT_EQ(c.wire_len, c.len) << "short frames are copied whole";
        rx_before_dnat |= !c.tx && c.src == ip("192.0.2.10") && c.dst == ip("10.96.0.10");
        tx_translated_back |= c.tx && c.src == ip("10.96.0.10") && c.dst == ip("192.0.2.10");
    }
    EXPECT_TRUE(rx_before_dnat) << "RX is copied as it came, before DNAT";
    EXPECT_TRUE(tx_translated_back) << "TX is copied as it left, translated back";

    // The count stops the capture by itself; disarmed, more traffic is not copied.
    r.count = 1;
    r.tx = false;
    ASSERT_TRUE(fp.arm_capture(r, err)) << err;
    ASSERT_TRUE(bench_.send(kExt, Pkt::tcp("192.0.2.10", 40002, "10.96.0.10", 80, 0x02)));
    EXPECT_EQ(drain(1).size(), 1u);
    const fastpath::CaptureState st = fp.capture_state();
    EXPECT_FALSE(st.armed);
    EXPECT_EQ(st.taken, 1u);
    EXPECT_EQ(st.lost, 0u);
    ASSERT_TRUE(bench_.send(kExt, Pkt::tcp("192.0.2.10", 40003, "10.96.0.10", 80, 0x02)));
    EXPECT_EQ(fp.drain_capture([](const fastpath::CapturedFrame&) {}), 0u);
}

}  // namespace
}  // namespace nfgate::test

// The engine's pure building blocks: checksums, parsing, routes, neighbour and affinity tables.
#include <gtest/gtest.h>

#include <random>

#include "dataplane/engine/affinity_table.hpp"
#include "dataplane/engine/burst.hpp"
#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/engine/neighbour_table.hpp"
#include "dataplane/engine/routes.hpp"
#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using namespace engine;

rte_mbuf* mbuf(const std::vector<uint8_t>& f) { return to_mbuf(test_pool(), f); }

// A flow from the packet's tuple to `reply` in a table of its own: the production rewrite
// (rewrite_flow with the deltas the table precomputes) is what the checks below run.
struct OneFlow {
    std::unique_ptr<ct::ConntrackTable> table;
    ct::FlowEntry* entry = nullptr;

    OneFlow(const PacketMeta& pm, const ct::FlowKey& reply) {
        ct::ConntrackTable::Config cfg;
        cfg.max_flows = 64;
        std::string err;
        table = ct::ConntrackTable::create(cfg, err);
        EXPECT_NE(table, nullptr) << err;
        ct::FlowInit fi;
        fi.orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
        fi.reply = reply;
        fi.tcp_flags = net::kTcpSyn;
        const ct::InsertResult r = table->insert(0, fi, 1);
        EXPECT_EQ(r.status, ct::InsertStatus::inserted);
        entry = r.entry;
    }
};

TEST(EngineChecksum, IncrementalNatMatchesFullRecompute) {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        const uint8_t proto = (i % 3 == 0) ? 6 : (i % 3 == 1) ? 17 : 1;
        Pkt p = Pkt::tcp("10.0.0.1", 1, "10.0.0.2", 2);
        p.proto = proto;
        p.src = rng();
        p.dst = rng();
        p.sport = static_cast<uint16_t>(rng());
        p.dport = proto == 1 ? p.sport : static_cast<uint16_t>(rng());
        p.payload.resize(rng() % 40);
        for (auto& b : p.payload) b = static_cast<uint8_t>(rng());
        p.ttl = static_cast<uint8_t>(i < 256 ? i : rng());  // every TTL, 0 (wraps) included
        rte_mbuf* m = mbuf(serialize(p));
        PacketMeta pm;
        Reason r{};
        ASSERT_TRUE(parse_ipv4_packet(m, pm, r));
        // Translated to a random backend and SNAT address/port; the reply tuple is what the
        // backend sends back (its port is the packet's new source port).
        const uint16_t new_port = static_cast<uint16_t>(rng());
        const uint16_t backend_port = proto == 1 ? new_port : static_cast<uint16_t>(rng());
        const ct::FlowKey reply = ct::make_key(static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), backend_port,
                                               new_port, proto);
        OneFlow flow(pm, reply);
        ASSERT_NE(flow.entry, nullptr) << i;
        net::CsumDelta ipd;
        rewrite_flow(pm, *flow.entry, ct::Dir::orig, ipd);
        forward_ip_csum(pm.ip, ipd);
        const Out o = parse_out(m);
        EXPECT_TRUE(o.ip_csum_ok) << i;
        EXPECT_TRUE(o.l4_csum_ok) << i;
        EXPECT_EQ(o.ttl, static_cast<uint8_t>(p.ttl - 1));
        rte_pktmbuf_free(m);
    }
}

TEST(EngineChecksum, UdpWithoutChecksumStaysWithout) {
    Pkt p = Pkt::udp("10.0.0.1", 1, "10.0.0.2", 2);
    p.udp_csum = false;
    rte_mbuf* m = mbuf(serialize(p));
    PacketMeta pm;
    Reason r{};
    ASSERT_TRUE(parse_ipv4_packet(m, pm, r));
    OneFlow flow(pm, ct::make_key(rte_cpu_to_be_32(ip("10.9.9.9")), pm.src, rte_cpu_to_be_16(99), pm.sport, pm.proto));
    net::CsumDelta ipd;
    rewrite_flow(pm, *flow.entry, ct::Dir::orig, ipd);
    EXPECT_EQ(reinterpret_cast<rte_udp_hdr*>(pm.l4)->dgram_cksum, 0);
    rte_pktmbuf_free(m);
}

TEST(EngineParse, HonoursIpOptionsAndFragmentFlags) {
    std::vector<uint8_t> f = serialize(Pkt::tcp("10.0.0.1", 1234, "10.0.0.2", 80));
    // Insert 4 bytes of options (NOP x4) after the 20-byte header: IHL 6.
    f.insert(f.begin() + 34, {1, 1, 1, 1});
    f[14] = 0x46;
    const uint16_t total = uint16_t(f.size() - 14);
    f[16] = uint8_t(total >> 8);
    f[17] = uint8_t(total);
    f[24] = f[25] = 0;
    const uint16_t c = net::csum_finish(net::csum_partial(f.data() + 14, 24));
    std::memcpy(f.data() + 24, &c, 2);
    rte_mbuf* m = mbuf(f);
    PacketMeta pm;
    Reason r{};
    ASSERT_TRUE(parse_ipv4_packet(m, pm, r)) << reason_name(r);
    EXPECT_EQ(rte_be_to_cpu_16(pm.sport), 1234);
    EXPECT_EQ(rte_be_to_cpu_16(pm.dport), 80);
    EXPECT_FALSE(pm.fragment);
    rte_pktmbuf_free(m);

    Pkt later = Pkt::udp("10.0.0.1", 1, "10.0.0.2", 2);
    later.frag = 185;  // offset 1480 bytes, last fragment
    m = mbuf(serialize(later));
    ASSERT_TRUE(parse_ipv4_packet(m, pm, r));
    EXPECT_TRUE(pm.fragment);
    EXPECT_TRUE(pm.later_fragment);
    EXPECT_EQ(pm.sport, 0);
    rte_pktmbuf_free(m);
}

TEST(EngineRoutes, LongestPrefixWinsAndGatewaysResolve) {
    std::vector<Interface> ifs = {Interface{"a", "", IfAddr{ip("192.0.2.1"), 24}},
                                  Interface{"b", "", IfAddr{ip("10.244.0.1"), 16}}};
    std::vector<Route> routes = {Route{Cidr{0, 0}, ip("192.0.2.254")},
                                 Route{Cidr{ip("10.0.0.0"), 8}, ip("10.244.0.254")},
                                 Route{Cidr{ip("203.0.113.0"), 24}, ip("192.0.2.253")}};
    RouteTable rt;
    std::string err;
    ASSERT_TRUE(rt.build(ifs, routes, err)) << err;
    NextHop nh;
    ASSERT_TRUE(rt.lookup(ip("10.244.3.3"), nh));  // connected /16 beats the /8
    EXPECT_EQ(nh.port, 1);
    EXPECT_EQ(nh.gateway, 0u);
    ASSERT_TRUE(rt.lookup(ip("10.1.1.1"), nh));
    EXPECT_EQ(nh.port, 1);
    EXPECT_EQ(nh.gateway, ip("10.244.0.254"));
    ASSERT_TRUE(rt.lookup(ip("203.0.113.9"), nh));
    EXPECT_EQ(nh.gateway, ip("192.0.2.253"));
    ASSERT_TRUE(rt.lookup(ip("8.8.8.8"), nh));
    EXPECT_EQ(nh.port, 0);
    EXPECT_EQ(RouteTable::arp_target(ip("8.8.8.8"), nh), ip("192.0.2.254"));

    RouteTable none;
    ASSERT_TRUE(none.build(ifs, {}, err));
    EXPECT_FALSE(none.lookup(ip("8.8.8.8"), nh));
}

TEST(EngineNeighbours, LearnsRefreshesAndRateLimitsRequests) {
    NeighbourTable n;
    ArpRequestLimiter limiter;
    rte_ether_addr mac{};
    EXPECT_FALSE(n.lookup(ip("10.0.0.5"), mac));
    EXPECT_TRUE(limiter.should_request(ip("10.0.0.5"), 5'000'000'000));
    EXPECT_FALSE(limiter.should_request(ip("10.0.0.5"), 5'500'000'000));
    EXPECT_TRUE(limiter.should_request(ip("10.0.0.6"), 5'500'000'000));
    EXPECT_TRUE(limiter.should_request(ip("10.0.0.5"), 6'000'000'001));
    const rte_ether_addr a{{2, 0, 0, 0, 0, 5}}, b{{2, 0, 0, 0, 0, 6}};
    n.refresh(ip("10.0.0.5"), a, 1);  // unknown: not added
    EXPECT_FALSE(n.lookup(ip("10.0.0.5"), mac));
    ASSERT_TRUE(n.learn(ip("10.0.0.5"), a, 0, 1));
    ASSERT_TRUE(n.lookup(ip("10.0.0.5"), mac));
    EXPECT_EQ(mac_str(mac), mac_str(a));
    n.refresh(ip("10.0.0.5"), b, 1);
    ASSERT_TRUE(n.lookup(ip("10.0.0.5"), mac));
    EXPECT_EQ(mac_str(mac), mac_str(b));
    // Many neighbours colliding in the probe sequence all stay reachable.
    for (uint32_t i = 1; i < 1000; ++i) ASSERT_TRUE(n.learn(ip("172.16.0.0") + i, a, 0, 1));
    for (uint32_t i = 1; i < 1000; ++i) ASSERT_TRUE(n.lookup(ip("172.16.0.0") + i, mac)) << i;
}

TEST(EngineAffinity, PinsPerServicePortUntilExpiry) {
    AffinityTable t;
    uint32_t bip = 0;
    uint16_t bport = 0;
    EXPECT_FALSE(t.find(ip("1.2.3.4"), 7, 100, bip, bport));
    t.remember(ip("1.2.3.4"), 7, ip("10.0.0.9"), 8080, 100, 60);
    ASSERT_TRUE(t.find(ip("1.2.3.4"), 7, 159, bip, bport));
    EXPECT_EQ(bip, ip("10.0.0.9"));
    EXPECT_EQ(bport, 8080);
    EXPECT_FALSE(t.find(ip("1.2.3.4"), 8, 120, bip, bport));  // another service port
    EXPECT_FALSE(t.find(ip("1.2.3.4"), 7, 160, bip, bport));  // expired
    t.remember(ip("1.2.3.4"), 7, ip("10.0.0.10"), 8080, 200, 60);
    ASSERT_TRUE(t.find(ip("1.2.3.4"), 7, 230, bip, bport));
    EXPECT_EQ(bip, ip("10.0.0.10"));
}

}  // namespace
}  // namespace nfgate::test

// The fixture table (see fixtures.hpp), one function per area.
#include "tests/engine/fixtures.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/engine/packet_builder6.hpp"

namespace nfgate::test {
namespace {

using engine::Reason;
using Frame = std::vector<uint8_t>;

Frame fix_ip_csum(Frame f) {
    auto* iph = reinterpret_cast<rte_ipv4_hdr*>(f.data() + sizeof(rte_ether_hdr));
    iph->hdr_checksum = 0;
    iph->hdr_checksum = net::csum_finish(net::csum_partial(iph, (iph->version_ihl & 0xf) * 4u));
    return f;
}

Frame with_byte(Frame f, size_t off, uint8_t v, bool fix = false) {
    f[off] = v;
    return fix ? fix_ip_csum(std::move(f)) : f;
}

std::function<Frame(const Out&)> frame(Frame f) {
    return [f](const Out&) { return f; };
}
std::function<Frame(const Out&)> pkt(Pkt p) {
    return [p](const Out&) { return serialize(p); };
}

Pkt from_client_link(Pkt p) {
    p.eth_src = kClientMac;
    p.eth_dst = kExtMac;
    return p;
}

// Reply of the backend (or remote host) to the translated packet `o`.
Pkt reply_to(const Out& o, uint8_t tcp_flags) {
    Pkt r;
    r.proto = o.proto;
    r.src = o.dst;
    r.dst = o.src;
    r.sport = o.dport;
    r.dport = o.sport;
    r.tcp_flags = tcp_flags;
    r.seq = 5000;
    r.ack = o.seq + 1;
    if (o.proto == 17) r.payload = {'o', 'k'};
    if (o.proto == 1) {
        r.icmp_type = 0;
        r.payload = {1, 2, 3, 4, 5, 6, 7, 8};
    }
    return r;
}

bool is_web_backend(uint32_t a) { return a == ip("10.244.1.10") || a == ip("10.244.1.11") || a == ip("10.244.1.12"); }

void expect_routed(const Out& o, const rte_ether_addr& src_mac, const rte_ether_addr& dst_mac) {
    EXPECT_EQ(mac_str(o.eth_src), mac_str(src_mac));
    EXPECT_EQ(mac_str(o.eth_dst), mac_str(dst_mac));
    EXPECT_EQ(o.ttl, 63);
    EXPECT_TRUE(o.ip_csum_ok);
    EXPECT_TRUE(o.l4_csum_ok);
}

// The client SYN to the web ClusterIP from outside the cluster, and the checks on its output.
const Pkt kClientSyn = from_router(Pkt::tcp("198.51.100.7", 40000, "10.96.0.10", 80));

void check_dnat_snat(const Out& o) {
    EXPECT_TRUE(is_web_backend(o.dst)) << ip_to_string(o.dst);
    EXPECT_EQ(o.dport, 8080);
    EXPECT_EQ(o.src, ip("10.244.0.1"));  // the gateway's address toward the backend
    EXPECT_GE(o.sport, 1024);
    EXPECT_EQ(o.tcp_flags, 0x02);
    expect_routed(o, kPodsMac, pod_mac(o.dst));
}

// An ICMP error from `from` quoting the IP header and first 8 L4 bytes of output `o`.
Pkt icmp_error_about(const Out& o, uint32_t from, uint8_t type, uint8_t code) {
    Pkt e;
    e.proto = 1;
    e.src = from;
    e.dst = o.src;
    e.icmp_type = type;
    e.icmp_code = code;
    e.sport = 0;
    e.icmp_seq = 0;
    rte_ipv4_hdr q{};
    q.version_ihl = RTE_IPV4_VHL_DEF;
    q.total_length = rte_cpu_to_be_16(uint16_t(20 + o.l4_bytes.size()));
    q.time_to_live = o.ttl;
    q.next_proto_id = o.proto;
    q.src_addr = rte_cpu_to_be_32(o.src);
    q.dst_addr = rte_cpu_to_be_32(o.dst);
    q.hdr_checksum = net::csum_finish(net::csum_partial(&q, sizeof q));
    e.payload.resize(sizeof q + 8);
    std::memcpy(e.payload.data(), &q, sizeof q);
    std::memcpy(e.payload.data() + sizeof q, o.l4_bytes.data(), 8);
    e.eth_src = pod_mac(from);
    e.eth_dst = kPodsMac;
    return e;
}

constexpr size_t kIp = sizeof(rte_ether_hdr);

// Malformed and foreign frames.
void parse_fixtures(std::vector<Fixture>& f) {
    const Frame good = serialize(from_router(Pkt::udp("198.51.100.7", 1000, "10.244.9.9", 53)));
    f.push_back({"bad_ip_version", {{kExt, frame(with_byte(good, kIp, 0x65)), {}, Reason::ip_bad_version, {}}}});
    f.push_back({"bad_ihl", {{kExt, frame(with_byte(good, kIp, 0x44)), {}, Reason::ip_bad_ihl, {}}}});
    f.push_back({"total_length_beyond_frame",
                 {{kExt, frame(with_byte(good, kIp + 2, 0x05, true)), {}, Reason::ip_bad_total_length, {}}}});
    f.push_back({"bad_ip_checksum", {{kExt, frame(with_byte(good, kIp + 10, uint8_t(good[kIp + 10] ^ 0x5a))), {},
                                      Reason::ip_bad_checksum, {}}}});
    f.push_back({"truncated_ip", {{kExt, frame(Frame(good.begin(), good.begin() + 30)), {}, Reason::ip_truncated, {}}}});
    f.push_back({"non_ip_ethertype", {{kExt, frame(with_byte(good, 12, 0x86)), {}, Reason::eth_unsupported_type, {}}}});
    // IPv6 on a gateway without an IPv6 address of its own: parsed, not forwarded (there is no
    // IPv6 flow table; test_ipv6_forward.cpp forwards on a dual-stack one).
    Pkt6 v6 = Pkt6::udp("2001:db8:100::7", 1000, "2001:db8:96::10", 53);
    v6.eth_src = kRouterMac;
    v6.eth_dst = kExtMac;
    f.push_back({"ipv6_not_forwarded_yet", {{kExt, frame(serialize6(v6)), {}, Reason::ip6_not_forwarded, {}}}});
    v6.eth_dst = kClientMac;
    f.push_back({"ipv6_to_another_mac", {{kExt, frame(serialize6(v6)), {}, Reason::eth_not_for_us, {}}}});

    Pkt other_station = from_router(Pkt::udp("198.51.100.7", 1000, "10.244.9.9", 53));
    other_station.eth_dst = kClientMac;
    f.push_back({"ipv4_to_another_mac", {{kExt, pkt(other_station), {}, Reason::eth_not_for_us, {}}}});
    f.push_back({"multicast_not_forwarded",
                 {{kPods, pkt(from_pod(Pkt::udp("10.244.9.9", 5353, "224.0.0.251", 5353))), {}, Reason::ip_not_unicast, {}}}});
}

// ARP answers.
void arp_fixtures(std::vector<Fixture>& f) {
    const rte_ether_addr bcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    auto arp_reply_check = [](uint32_t addr) {
        return [addr](const Out& o) {
            EXPECT_EQ(o.arp_op, 2);
            EXPECT_EQ(o.arp_sip, addr);
            EXPECT_EQ(o.arp_tip, ip("192.0.2.77"));
            EXPECT_EQ(mac_str(o.arp_sha), mac_str(kExtMac));
            EXPECT_EQ(mac_str(o.arp_tha), mac_str(kClientMac));
            EXPECT_EQ(mac_str(o.eth_dst), mac_str(kClientMac));
        };
    };
    auto arp_req = [&](const char* target) {
        return arp_frame(1, kClientMac, ip("192.0.2.77"), rte_ether_addr{}, ip(target), bcast);
    };
    f.push_back({"arp_for_interface_address",
                 {{kExt, frame(arp_req("192.0.2.1")), kExt, Reason::arp_reply_sent, arp_reply_check(ip("192.0.2.1"))}}});
    f.push_back({"arp_for_lb_vip_in_subnet",
                 {{kExt, frame(arp_req("192.0.2.100")), kExt, Reason::arp_reply_sent, arp_reply_check(ip("192.0.2.100"))}}});
    f.push_back({"arp_for_external_ip_in_subnet",
                 {{kExt, frame(arp_req("192.0.2.50")), kExt, Reason::arp_reply_sent, arp_reply_check(ip("192.0.2.50"))}}});
    f.push_back({"arp_for_unknown_address", {{kExt, frame(arp_req("192.0.2.99")), {}, Reason::arp_not_for_us, {}}}});
    f.push_back({"arp_for_cluster_ip_outside_link", {{kExt, frame(arp_req("10.96.0.10")), {}, Reason::arp_not_for_us, {}}}});
}

// ICMP to the gateway and TTL expiry.
void local_fixtures(std::vector<Fixture>& f) {
    f.push_back({"ping_gateway",
                 {{kExt, pkt(from_client_link(Pkt::echo("192.0.2.77", "192.0.2.1", 77))), kExt, Reason::echo_reply_sent,
                   [](const Out& o) {
                       EXPECT_EQ(o.icmp_type, 0);
                       EXPECT_EQ(o.src, ip("192.0.2.1"));
                       EXPECT_EQ(o.dst, ip("192.0.2.77"));
                       EXPECT_EQ(o.sport, 77);
                       EXPECT_EQ(mac_str(o.eth_dst), mac_str(kClientMac));
                       EXPECT_TRUE(o.ip_csum_ok);
                       EXPECT_TRUE(o.l4_csum_ok);
                   }}}});
    Pkt ttl1 = from_router(Pkt::udp("198.51.100.7", 1000, "10.244.9.9", 53));
    ttl1.ttl = 1;
    f.push_back({"ttl_1_time_exceeded",
                 {{kExt, pkt(ttl1), kExt, Reason::ttl_exceeded_sent, [ttl1](const Out& o) {
                       EXPECT_EQ(o.icmp_type, 11);
                       EXPECT_EQ(o.icmp_code, 0);
                       EXPECT_EQ(o.src, ip("192.0.2.1"));
                       EXPECT_EQ(o.dst, ip("198.51.100.7"));
                       EXPECT_TRUE(o.ip_csum_ok);
                       EXPECT_TRUE(o.l4_csum_ok);
                       const Frame orig = serialize(ttl1);
                       ASSERT_EQ(o.l4_bytes.size(), 8u + 20u + 8u);
                       EXPECT_TRUE(std::equal(o.l4_bytes.begin() + 8, o.l4_bytes.end(), orig.begin() + kIp));
                   }}}});
    f.push_back({"to_gateway_tcp_not_served",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 4000, "192.0.2.1", 22))), {},
                   Reason::local_delivery_unsupported, {}}}});
}

// Service translation, policies and rejects.
void service_fixtures(std::vector<Fixture>& f) {
    f.push_back({"clusterip_syn_dnat_snat_and_reply",
                 {{kExt, pkt(kClientSyn), kPods, {}, check_dnat_snat},
                  {kPods, [](const Out& o) { return serialize(from_pod(reply_to(o, 0x12))); }, kExt, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("10.96.0.10"));
                       EXPECT_EQ(o.sport, 80);
                       EXPECT_EQ(o.dst, ip("198.51.100.7"));
                       EXPECT_EQ(o.dport, 40000);
                       EXPECT_EQ(o.tcp_flags, 0x12);
                       expect_routed(o, kExtMac, kRouterMac);
                   }}}});
    f.push_back({"clusterip_from_pod_keeps_source",
                 {{kPods, pkt(from_pod(Pkt::tcp("10.244.9.9", 33000, "10.96.0.10", 80))), kPods, {}, [](const Out& o) {
                       EXPECT_TRUE(is_web_backend(o.dst));
                       EXPECT_EQ(o.src, ip("10.244.9.9"));
                       EXPECT_EQ(o.sport, 33000);
                       expect_routed(o, kPodsMac, pod_mac(o.dst));
                   }}}});
    f.push_back({"external_ip_dnat_snat",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40001, "192.0.2.50", 80))), kPods, {}, check_dnat_snat}}});
    f.push_back({"nodeport_dnat_snat",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40002, "192.0.2.1", 30080))), kPods, {}, check_dnat_snat}}});
    auto etp_local_check = [](const Out& o) {
        EXPECT_EQ(o.dst, ip("10.244.3.10"));
        EXPECT_EQ(o.dport, 8443);
        EXPECT_EQ(o.src, ip("198.51.100.7"));
        EXPECT_EQ(o.sport, 40003);
        expect_routed(o, kPodsMac, pod_mac(o.dst));
    };
    f.push_back({"lb_ip_allowed_source_etp_local_keeps_client",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40003, "192.0.2.100", 443))), kPods, {}, etp_local_check},
                  {kPods, [](const Out& o) { return serialize(from_pod(reply_to(o, 0x12))); }, kExt, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("192.0.2.100"));
                       EXPECT_EQ(o.sport, 443);
                       EXPECT_EQ(o.dst, ip("198.51.100.7"));
                       expect_routed(o, kExtMac, kRouterMac);
                   }}}});
    f.push_back({"lb_ip_denied_source",
                 {{kExt, pkt(from_router(Pkt::tcp("203.0.113.5", 40004, "192.0.2.100", 443))), {},
                   Reason::source_range_denied, {}}}});
    f.push_back({"nodeport_etp_local_keeps_client",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40003, "192.0.2.1", 30443))), kPods, {}, etp_local_check}}});
    f.push_back({"no_endpoints_tcp_reset",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40005, "10.96.0.20", 80))), kExt, Reason::reset_sent,
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("10.96.0.20"));
                       EXPECT_EQ(o.sport, 80);
                       EXPECT_EQ(o.dst, ip("198.51.100.7"));
                       EXPECT_EQ(o.dport, 40005);
                       EXPECT_EQ(o.tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
                       EXPECT_EQ(o.ack, 1001u);
                       EXPECT_EQ(mac_str(o.eth_dst), mac_str(kRouterMac));
                       EXPECT_TRUE(o.ip_csum_ok);
                       EXPECT_TRUE(o.l4_csum_ok);
                   }}}});
    f.push_back({"no_endpoints_udp_port_unreachable",
                 {{kExt, pkt(from_router(Pkt::udp("198.51.100.7", 40006, "10.96.0.20", 5353))), kExt,
                   Reason::port_unreachable_sent, [](const Out& o) {
                       EXPECT_EQ(o.icmp_type, 3);
                       EXPECT_EQ(o.icmp_code, 3);
                       EXPECT_EQ(o.src, ip("10.96.0.20"));
                       EXPECT_EQ(o.dst, ip("198.51.100.7"));
                       EXPECT_TRUE(o.ip_csum_ok);
                       EXPECT_TRUE(o.l4_csum_ok);
                   }}}});
    Pkt from_nowhere = from_router(Pkt::tcp("198.51.100.7", 40005, "10.96.0.20", 80));
    from_nowhere.src = 0;
    // 0.0.0.0 is a martian source (RFC 1812 5.3.7): dropped before a reset could be aimed at it.
    f.push_back({"no_reset_to_unspecified_source", {{kExt, pkt(from_nowhere), {}, Reason::martian_source, {}}}});
    f.push_back({"allocated_clusterip_unknown_port_rejected",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40007, "10.96.0.10", 81))), kExt, Reason::reset_sent, {}}}});
    f.push_back({"unallocated_clusterip_dropped",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40008, "10.96.5.5", 80))), {},
                   Reason::unallocated_cluster_ip, {}}}});
    f.push_back({"mid_stream_ack_to_vip_dropped",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40009, "10.96.0.10", 80, 0x10))), {},
                   Reason::tcp_invalid_no_syn, {}}}});
}

// Masquerade and plain routing.
void egress_fixtures(std::vector<Fixture>& f) {
    f.push_back({"pod_egress_masqueraded_and_reply",
                 {{kPods, pkt(from_pod(Pkt::udp("10.244.9.9", 5555, "8.8.8.8", 53))), kExt, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("192.0.2.1"));
                       EXPECT_EQ(o.dst, ip("8.8.8.8"));
                       EXPECT_EQ(o.dport, 53);
                       expect_routed(o, kExtMac, kRouterMac);
                   }},
                  {kExt, [](const Out& o) { return serialize(from_router(reply_to(o, 0))); }, kPods, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("8.8.8.8"));
                       EXPECT_EQ(o.dst, ip("10.244.9.9"));
                       EXPECT_EQ(o.dport, 5555);
                       expect_routed(o, kPodsMac, pod_mac(ip("10.244.9.9")));
                   }}}});
    f.push_back({"pod_ping_masqueraded_and_reply",
                 {{kPods, pkt(from_pod(Pkt::echo("10.244.9.9", "8.8.4.4", 99))), kExt, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("192.0.2.1"));
                       EXPECT_EQ(o.icmp_type, 8);
                       expect_routed(o, kExtMac, kRouterMac);
                   }},
                  {kExt, [](const Out& o) { return serialize(from_router(reply_to(o, 0))); }, kPods, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("8.8.4.4"));
                       EXPECT_EQ(o.dst, ip("10.244.9.9"));
                       EXPECT_EQ(o.icmp_type, 0);
                       EXPECT_EQ(o.sport, 99);
                       expect_routed(o, kPodsMac, pod_mac(ip("10.244.9.9")));
                   }}}});
    f.push_back({"non_masquerade_destination_untouched",
                 {{kPods, pkt(from_pod(Pkt::tcp("10.244.9.9", 5555, "172.16.5.5", 443))), kExt, {}, [](const Out& o) {
                       EXPECT_EQ(o.src, ip("10.244.9.9"));
                       EXPECT_EQ(o.sport, 5555);
                       EXPECT_EQ(o.dst, ip("172.16.5.5"));
                       expect_routed(o, kExtMac, kRouterMac);
                   }}}});
    f.push_back({"inbound_to_pod_and_its_reply_untouched",
                 {{kExt, pkt(from_router(Pkt::tcp("198.51.100.7", 40010, "10.244.9.9", 8080))), kPods, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("198.51.100.7"));
                       EXPECT_EQ(o.dst, ip("10.244.9.9"));
                       expect_routed(o, kPodsMac, pod_mac(ip("10.244.9.9")));
                   }},
                  {kPods, [](const Out& o) { return serialize(from_pod(reply_to(o, 0x12))); }, kExt, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("10.244.9.9"));
                       EXPECT_EQ(o.sport, 8080);
                       EXPECT_EQ(o.dst, ip("198.51.100.7"));
                       EXPECT_EQ(o.tcp_flags, 0x12);
                       expect_routed(o, kExtMac, kRouterMac);
                   }}}});
    f.push_back({"pod_to_pod_routed_untouched",
                 {{kPods, pkt(from_pod(Pkt::tcp("10.244.9.9", 5555, "10.244.9.10", 8080, 0x10))), kPods, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.src, ip("10.244.9.9"));
                       EXPECT_EQ(o.dst, ip("10.244.9.10"));
                       EXPECT_EQ(o.dport, 8080);
                       expect_routed(o, kPodsMac, pod_mac(ip("10.244.9.10")));
                   }}}});
}

// ICMP errors about tracked flows.
void icmp_error_fixtures(std::vector<Fixture>& f) {
    // ICMP error about a tracked flow: the backend says "port unreachable" about the
    // translated SYN; the client must get it about the packet it sent.
    f.push_back({"icmp_error_about_tracked_flow_translated",
                 {{kExt, pkt(kClientSyn), kPods, {}, check_dnat_snat},
                  {kPods, [](const Out& o) { return serialize(icmp_error_about(o, o.dst, 3, 3)); }, kExt, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.icmp_type, 3);
                       EXPECT_EQ(o.src, ip("10.96.0.10"));
                       EXPECT_EQ(o.dst, ip("198.51.100.7"));
                       expect_routed(o, kExtMac, kRouterMac);
                       ASSERT_GE(o.l4_bytes.size(), 8u + 20u + 8u);
                       const auto* inner = reinterpret_cast<const rte_ipv4_hdr*>(o.l4_bytes.data() + 8);
                       EXPECT_EQ(rte_be_to_cpu_32(inner->src_addr), ip("198.51.100.7"));
                       EXPECT_EQ(rte_be_to_cpu_32(inner->dst_addr), ip("10.96.0.10"));
                       EXPECT_EQ(net::csum_fold(net::csum_partial(inner, 20)), 0xffff);
                       const uint8_t* ports = o.l4_bytes.data() + 28;
                       EXPECT_EQ(ports[0] << 8 | ports[1], 40000);
                       EXPECT_EQ(ports[2] << 8 | ports[3], 80);
                   }}}});
    f.push_back({"icmp_error_from_router_keeps_router_source",
                 {{kPods, pkt(from_pod(Pkt::udp("10.244.9.9", 6000, "8.8.8.8", 53))), kExt, {}, {}},
                  {kExt, [](const Out& o) {
                       Pkt e = icmp_error_about(o, ip("203.0.113.1"), 11, 0);
                       return serialize(from_router(e));
                   }, kPods, {}, [](const Out& o) {
                       EXPECT_EQ(o.icmp_type, 11);
                       EXPECT_EQ(o.src, ip("203.0.113.1"));
                       EXPECT_EQ(o.dst, ip("10.244.9.9"));
                       EXPECT_TRUE(o.ip_csum_ok);
                       EXPECT_TRUE(o.l4_csum_ok);
                       const auto* inner = reinterpret_cast<const rte_ipv4_hdr*>(o.l4_bytes.data() + 8);
                       EXPECT_EQ(rte_be_to_cpu_32(inner->src_addr), ip("10.244.9.9"));
                       const uint8_t* udp = o.l4_bytes.data() + 28;
                       EXPECT_EQ(udp[0] << 8 | udp[1], 6000);
                   }}}});
}

// RFC 1812 5.3.7 martians, ICMP errors nobody asked for, and bytes beyond the datagram.
void martian_fixtures(std::vector<Fixture>& f) {
    struct Case {
        const char* name;
        const char* addr;
    };
    for (const Case& c : {Case{"martian_source_loopback", "127.0.0.1"}, Case{"martian_source_this_network", "0.1.2.3"},
                          Case{"martian_source_multicast", "224.0.0.5"}, Case{"martian_source_class_e", "240.0.0.1"},
                          Case{"martian_source_broadcast", "255.255.255.255"},
                          Case{"martian_source_gateway_address", "192.0.2.1"},
                          Case{"martian_source_the_vip_itself", "10.96.0.10"}}) {
        Pkt p = from_router(Pkt::tcp("198.51.100.7", 40100, "10.96.0.10", 80, 0x02));
        p.src = ip(c.addr);
        f.push_back({c.name, {{kExt, pkt(p), {}, Reason::martian_source, {}}}});
    }
    for (const Case& c : {Case{"martian_destination_loopback", "127.0.0.1"},
                          Case{"martian_destination_unspecified", "0.0.0.0"},
                          Case{"martian_destination_this_network", "0.9.9.9"}})
        f.push_back({c.name, {{kPods, pkt(from_pod(Pkt::udp("10.244.9.9", 5000, c.addr, 53))), {},
                               Reason::martian_destination, {}}}});
    // An ICMP error about no flow, aimed at a Service address (even an unallocated one): dropped,
    // not routed out the default route.
    for (const Case& c : {Case{"icmp_error_to_clusterip_without_flow", "10.96.0.10"},
                          Case{"icmp_error_to_unallocated_clusterip", "10.96.99.99"}}) {
        Pkt e = from_router(Pkt::echo("203.0.113.1", c.addr, 0));
        e.icmp_type = 3;
        e.icmp_code = 3;
        e.payload.assign(28, 0);
        f.push_back({c.name, {{kExt, pkt(e), {}, Reason::icmp_untracked, {}}}});
    }
    // Bytes after the IPv4 total length are not forwarded with the datagram.
    Frame padded = serialize(from_pod(Pkt::udp("10.244.9.9", 5000, "10.244.9.10", 53)));
    const size_t datagram_end = padded.size();
    padded.insert(padded.end(), {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0});
    f.push_back({"trailing_bytes_trimmed", {{kPods, frame(padded), kPods, {}, [datagram_end](const Out& o) {
                                                 EXPECT_EQ(o.frame_len, datagram_end);
                                                 EXPECT_TRUE(o.ip_csum_ok);
                                                 EXPECT_TRUE(o.l4_csum_ok);
                                             }}}});
}

// Fragments.
void fragment_fixtures(std::vector<Fixture>& f) {
    Pkt frag_vip = from_router(Pkt::udp("198.51.100.7", 1000, "10.96.0.53", 53));
    frag_vip.frag = 100;  // a later fragment whose first was never seen: not forwarded untranslated
    f.push_back({"fragment_to_vip_dropped", {{kExt, pkt(frag_vip), {}, Reason::fragment_without_first, {}}}});
    Pkt frag_plain = from_pod(Pkt::udp("10.244.9.9", 1000, "10.244.9.10", 53));
    frag_plain.frag = 100;  // a later fragment, routed untouched
    f.push_back({"fragment_pod_to_pod_routed", {{kPods, pkt(frag_plain), kPods, {}, [](const Out& o) {
                                                     EXPECT_EQ(o.dst, ip("10.244.9.10"));
                                                     EXPECT_TRUE(o.ip_csum_ok);
                                                 }}}});
}

// Unresolved next hops.
void neighbour_fixtures(std::vector<Fixture>& f) {
    // Next hop without ARP entry: an ARP request leaves (the packet waits for the answer,
    // tests/engine/test_neighbours.cpp).
    f.push_back({"unresolved_next_hop_sends_arp_request",
                 {{kPods, pkt(from_pod(Pkt::tcp("10.244.9.9", 5555, "10.244.7.7", 80, 0x10))), kPods, {},
                   [](const Out& o) {
                       EXPECT_EQ(o.arp_op, 1);
                       EXPECT_EQ(o.arp_tip, ip("10.244.7.7"));
                       EXPECT_EQ(o.arp_sip, ip("10.244.0.1"));
                       EXPECT_EQ(mac_str(o.arp_sha), mac_str(kPodsMac));
                   }}}});
}

}  // namespace

std::vector<Fixture> fixtures() {
    std::vector<Fixture> f;
    parse_fixtures(f);
    arp_fixtures(f);
    local_fixtures(f);
    service_fixtures(f);
    egress_fixtures(f);
    icmp_error_fixtures(f);
    martian_fixtures(f);
    fragment_fixtures(f);
    neighbour_fixtures(f);
    return f;
}

}  // namespace nfgate::test

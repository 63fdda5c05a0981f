// IPv6 for the gateway itself through the real burst function: neighbour solicitations for
// the gateway's IPv6 addresses are answered on the port whose prefix holds them, echo requests
// to them are answered; the rest is forwarded (test_ipv6_forward.cpp).
#include <gtest/gtest.h>

#include "dataplane/engine/ndp.hpp"
#include "tests/engine/engine_lab.hpp"
#include "tests/engine/ip6_frames.hpp"

namespace nfgate::test {
namespace {

using engine::Ip6;
using engine::Reason;

const Ip6 kHost6 = ip6("2001:db8:1::99");

Model dual_stack_model() { return dual_stack_lab_model(); }

// A host on ext asks for `target` as Linux does: to its solicited-node group, with its MAC.
Frame6 ns_for(const Ip6& target, const Ip6& src = kHost6) {
    Frame6 f;
    f.eth_src = kClientMac;
    f.eth_dst = engine::multicast_mac(engine::solicited_node(target));
    f.src = src;
    f.dst = engine::solicited_node(target);
    f.payload = src.is_zero()
                    ? nd_body(engine::kIcmp6NeighbourSolicit, target)
                    : nd_body(engine::kIcmp6NeighbourSolicit, target, 0, lladdr_option(1, kClientMac));
    return f;
}

Frame6 echo_to(const Ip6& dst) {
    Frame6 f;
    f.eth_src = kClientMac;
    f.eth_dst = kExtMac;
    f.src = kHost6;
    f.dst = dst;
    f.hop_limit = 64;
    f.payload = icmp6_body(engine::kIcmp6EchoRequest, 0, 0x12340001, {'p', 'i', 'n', 'g'});
    return f;
}

TEST(EngineIpv6Local, ASolicitationForTheGatewaysAddressIsAnsweredOnItsPort) {
    Lab lab(dual_stack_model());
    lab.send(kExt, serialize6(ns_for(kGwExt6)));
    ASSERT_EQ(lab.io.sent.size(), 1u);
    EXPECT_EQ(lab.io.sent[0].port, kExt);
    const Out6 o = parse_out6(lab.io.sent[0].m);
    EXPECT_EQ(o.next_header, engine::kProtoIcmp6);
    ASSERT_GE(o.payload.size(), 32u);
    EXPECT_EQ(o.payload[0], engine::kIcmp6NeighbourAdvert);
    EXPECT_EQ(Ip6::from(o.payload.data() + 8), kGwExt6);
    EXPECT_EQ(o.src, kGwExt6);
    EXPECT_EQ(o.dst, kHost6);
    EXPECT_EQ(mac_str(o.eth_src), mac_str(kExtMac));
    EXPECT_EQ(mac_str(o.eth_dst), mac_str(kClientMac));
    EXPECT_EQ(o.hop_limit, 255);
    EXPECT_TRUE(o.icmp6_csum_ok);
    EXPECT_EQ(lab.reason(Reason::nd_advert_sent), 1u);
}

TEST(EngineIpv6Local, OnlyTheGatewaysAddressesOnThatLinkAreAnswered) {
    Lab lab(dual_stack_model());
    lab.send(kExt, serialize6(ns_for(ip6("2001:db8:1::2"))));  // another host's
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::nd_not_for_us), 1u);
    lab.send(kExt, serialize6(ns_for(kGwPods6)));  // ours, but the pods link's prefix
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::nd_not_for_us), 2u);
    Frame6 far = ns_for(kGwExt6);
    far.hop_limit = 64;  // from beyond the link (RFC 4861 7.1.1)
    lab.send(kExt, serialize6(far));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::nd_invalid), 1u);
}

TEST(EngineIpv6Local, ADuplicateAddressProbeForOurAddressIsDefended) {
    Lab lab(dual_stack_model());
    lab.send(kExt, serialize6(ns_for(kGwExt6, Ip6{})));
    ASSERT_EQ(lab.io.sent.size(), 1u);
    const Out6 o = parse_out6(lab.io.sent[0].m);
    EXPECT_EQ(o.dst, ip6("ff02::1")) << "RFC 4861 7.2.4: to all-nodes when the source was unspecified";
    EXPECT_EQ(lab.reason(Reason::nd_advert_sent), 1u);
}

TEST(EngineIpv6Local, EchoRequestsToTheGatewayAreAnsweredOthersAreForwarded) {
    Lab lab(dual_stack_model());
    for (const Ip6& own : {kGwExt6, kGwPods6}) {
        lab.send(kExt, serialize6(echo_to(own)));
        ASSERT_EQ(lab.io.sent.size(), 1u) << ip6_str(own);
        const Out6 o = parse_out6(lab.io.sent[0].m);
        EXPECT_EQ(o.src, own);
        EXPECT_EQ(o.dst, kHost6);
        ASSERT_GE(o.payload.size(), 8u);
        EXPECT_EQ(o.payload[0], engine::kIcmp6EchoReply);
        EXPECT_TRUE(o.icmp6_csum_ok);
    }
    EXPECT_EQ(lab.reason(Reason::echo6_reply_sent), 2u);
    // A pod's address is forwarded (test_ipv6_forward.cpp): the pod not known yet, the echo
    // request waits while a solicitation asks for it on the pods link.
    lab.send(kExt, serialize6(echo_to(ip6("fd00:10:244::9"))));
    ASSERT_EQ(lab.io.sent.size(), 1u);
    EXPECT_EQ(lab.io.sent[0].port, kPods);
    EXPECT_EQ(parse_out6(lab.io.sent[0].m).payload.at(0), engine::kIcmp6NeighbourSolicit);
    EXPECT_EQ(lab.io.dropped, 0u);
    Frame6 other_mac = echo_to(kGwExt6);
    other_mac.eth_dst = kRouterMac;
    lab.send(kExt, serialize6(other_mac));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::eth_not_for_us), 1u);
}

TEST(EngineIpv6Local, WithoutIPv6AddressesNothingIsAnswered) {
    Lab lab;
    lab.send(kExt, serialize6(ns_for(kGwExt6)));
    lab.send(kExt, serialize6(echo_to(kGwExt6)));
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::nd_not_for_us), 1u);
    EXPECT_EQ(lab.reason(Reason::ip6_not_forwarded), 1u);
}

}  // namespace
}  // namespace nfgate::test

// Small builders shared by the conntrack tests, for both address families: the tests whose logic
// is the same for IPv4 and IPv6 are typed tests over Families (ConntrackTable, ConntrackTable6)
// and build their flows with dnat_flow<Key>().
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include "dataplane/conntrack/conntrack_table.hpp"

namespace nfgate::ct::test {

inline uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return htonl((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
}

// The address of eight 16-bit groups, as written: ip6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).
inline net::Ip6Addr ip6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g4, uint16_t g5,
                        uint16_t g6, uint16_t g7) {
    const uint16_t g[8] = {g0, g1, g2, g3, g4, g5, g6, g7};
    net::Ip6Addr a;
    for (unsigned i = 0; i < 8; i++) {
        a.b[2 * i] = static_cast<uint8_t>(g[i] >> 8);
        a.b[2 * i + 1] = static_cast<uint8_t>(g[i]);
    }
    return a;
}

inline FlowKey key(uint32_t src_be, uint16_t sport, uint32_t dst_be, uint16_t dport, uint8_t proto) {
    return make_key(src_be, dst_be, htons(sport), htons(dport), proto);
}

inline FlowKey6 key(const net::Ip6Addr& src, uint16_t sport, const net::Ip6Addr& dst, uint16_t dport, uint8_t proto) {
    return make_key6(src, dst, htons(sport), htons(dport), proto);
}

// The addresses a test flow uses, by role, in each family.
template <class K>
struct Family;

template <>
struct Family<FlowKey> {
    static constexpr uint8_t kIcmp = net::kProtoIcmp;
    static uint32_t client(uint32_t n) { return ip(10, 1, static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8)); }
    static uint32_t vip() { return ip(10, 96, 0, 10); }
    static uint32_t backend(uint8_t host) { return ip(10, 244, 0, host); }
    static uint32_t gateway() { return ip(192, 0, 2, 1); }  // the SNAT address
};

template <>
struct Family<FlowKey6> {
    static constexpr uint8_t kIcmp = net::kProtoIcmpv6;
    static net::Ip6Addr client(uint32_t n) { return ip6(0x2001, 0xdb8, 1, 0, 0, 0, (n >> 16) & 0xff, (n >> 8) & 0xff); }
    static net::Ip6Addr vip() { return ip6(0xfd00, 0x96, 0, 0, 0, 0, 0, 0x10); }
    static net::Ip6Addr backend(uint8_t host) { return ip6(0xfd00, 0x244, 0, 0, 0, 0, 0, host); }
    static net::Ip6Addr gateway() { return ip6(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1); }
};

template <class K>
struct DnatFlowOf {
    K orig;
    K reply;
};
using DnatFlow = DnatFlowOf<FlowKey>;

// Client n (IPv4 10.1.x.y, IPv6 2001:db8:1::x:y, port from n) -> VIP (10.96.0.10,
// fd00:96::10) :80, DNAT to a backend (10.244.0.5, fd00:244::5) :8080.
template <class K = FlowKey>
DnatFlowOf<K> dnat_flow(uint32_t n, uint8_t proto = net::kProtoTcp, uint8_t backend = 5) {
    using F = Family<K>;
    const auto client = F::client(n);
    const auto port = static_cast<uint16_t>(1024 + (n & 0xff) * 200 + (n >> 24));
    return {key(client, port, F::vip(), 80, proto), key(F::backend(backend), 8080, client, port, proto)};
}

// The typed tests run once per family, named Ipv4 and Ipv6.
using Families = ::testing::Types<ConntrackTable, ConntrackTable6>;
struct FamilyName {
    template <class T>
    static std::string GetName(int) {
        return std::is_same_v<T, ConntrackTable> ? "Ipv4" : "Ipv6";
    }
};

// A table of either family with `max_flows` entries for `workers` workers.
template <class T>
std::unique_ptr<T> make_table(uint32_t max_flows, unsigned workers = 1, SnatPorts* snat = nullptr) {
    ConntrackConfig cfg;
    cfg.max_flows = max_flows;
    cfg.workers = workers;
    cfg.snat = snat;
    std::string err;
    auto t = T::create(cfg, err);
    EXPECT_NE(t, nullptr) << err;
    return t;
}

}  // namespace nfgate::ct::test

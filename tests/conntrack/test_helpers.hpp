// Small builders shared by the conntrack tests.
#pragma once

#include <arpa/inet.h>

#include <cstdint>

#include "dataplane/conntrack/flow.hpp"

namespace nfgate::ct::test {

inline uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return htonl((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
}

inline FlowKey key(uint32_t src_be, uint16_t sport, uint32_t dst_be, uint16_t dport, uint8_t proto) {
    return make_key(src_be, dst_be, htons(sport), htons(dport), proto);
}

// Client n (10.1.x.y:port) -> VIP 10.96.0.10:80, DNAT to backend 10.244.0.5:8080.
struct DnatFlow {
    FlowKey orig;
    FlowKey reply;
};

inline DnatFlow dnat_flow(uint32_t n, uint8_t proto = net::kProtoTcp) {
    const uint32_t client = ip(10, 1, static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8));
    const auto port = static_cast<uint16_t>(1024 + (n & 0xff) * 200 + (n >> 24));
    DnatFlow f;
    f.orig = key(client, port, ip(10, 96, 0, 10), 80, proto);
    f.reply = key(ip(10, 244, 0, 5), 8080, client, port, proto);
    return f;
}

}  // namespace nfgate::ct::test

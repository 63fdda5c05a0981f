// The IPv6 lanes of the burst function (burst.hpp): IPv6 packets of trackable flows (TCP, UDP,
// ICMPv6 echo, unfragmented, no routing header to follow, hop limit left) to this port's MAC take
// the same stages as IPv4 — classified here, looked up in one bulk lookup of the IPv6 flow
// table, rewritten with the flow's precomputed checksum delta, and routed with the previous
// packet's next hop reused while destinations repeat. Everything else (neighbour discovery,
// ICMPv6 errors, fragments, multicast, link-local) goes to on_ipv6() in ipv6_local.cpp, and
// the lanes' misses to on_ipv6_miss() in ipv6_flow.cpp.
#pragma once

#include <cstddef>
#include <cstring>

#include "dataplane/engine/burst.hpp"
#include "dataplane/engine/icmp6_wire.hpp"
#include "dataplane/engine/ipv6_hit.hpp"

namespace nfgate::engine::burst_detail {

// Whether `m` (IPv6 to this port's MAC) is a neighbour discovery message, which on_ipv6()
// reads before any parsing (a duplicate address probe comes from ::).
inline bool is_nd_message(const rte_mbuf* m) {
    constexpr uint32_t at = kEthLen + kIp6Len;
    if (m->data_len <= at) return false;
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint8_t type = p[at];
    return p[kEthLen + 6] == net::kProtoIcmpv6 && type >= 133 && type <= 137;  // RS, RA, NS, NA, redirect
}

// The key as three stores: both addresses as they are, then ports, protocol and padding as
// one 64-bit word (narrower stores there would stall the hash's 8-byte load of that word).
static_assert(offsetof(ct::FlowKey6, src_port) == 32 && offsetof(ct::FlowKey6, proto) == 36,
              "store_key6 writes the last word of FlowKey6 at once");
inline void store_key6(ct::FlowKey6& k, const PacketMeta6& pm) {
    std::memcpy(k.src_ip.data(), pm.src.data(), 16);
    std::memcpy(k.dst_ip.data(), pm.dst.data(), 16);
    const uint64_t w = uint64_t{pm.sport} | uint64_t{pm.dport} << 16 | uint64_t{pm.proto} << 32;
    std::memcpy(reinterpret_cast<char*>(&k) + 32, &w, 8);
}

template <class Io>
bool Burst<Io>::classify6(unsigned i, const rte_ether_addr& in_mac) {
    const ct::ConntrackTable6* flows = w_.shared.flows6();
    rte_mbuf* m = s_.lanes[i].m;
    if (flows == nullptr || !rte_is_same_ether_addr(&eth_of(m)->dst_addr, &in_mac) || is_nd_message(m)) return false;
    Worker6::Scratch& s6 = w_.v6->scratch;
    PacketMeta6& pm = s6.pm[i];
    pm = PacketMeta6{};
    Reason why{};
    if (!parse_ipv6_packet(m, pm, why)) {
        dispatch(slow_.drop(why), i);
        return true;
    }
    if (!ipv6_trackable(pm) || pm.fragment || pm.segments_left != 0 || pm.hop_limit <= 1 || net::ip6_is_link_local(pm.src) ||
        net::ip6_is_link_local(pm.dst) || net::ip6_is_multicast(pm.dst)) {
        dispatch(on_ipv6_packet(slow_, m, pm), i);
        return true;
    }
    store_key6(s6.keys[n_keys6_], pm);
    s6.key_lane[n_keys6_++] = static_cast<uint8_t>(i);
    return true;
}

template <class Io>
void Burst<Io>::rewrite6() {
    Worker6::Scratch& s6 = w_.v6->scratch;
    const uint64_t hits = w_.shared.flows6()->lookup_bulk(s6.keys, n_keys6_, s6.refs);
    for (unsigned k = 0; k < n_keys6_; ++k) {
        const unsigned i = s6.key_lane[k];
        PacketMeta6& pm = s6.pm[i];
        if (hits >> k & 1) {
            switch (on_ipv6_hit(slow_, s_.lanes[i].m, pm, s6.refs[k])) {
                case Hit6::forward: s6.fwd_lane[n_fwd6_++] = static_cast<uint8_t>(i); continue;
                case Hit6::dropped: io_.drop(s_.lanes[i].m); continue;
                case Hit6::remake: break;
            }
        }
        dispatch(on_ipv6_miss(slow_, s_.lanes[i].m, pm), i);
    }
}

// Established IPv6 packets take the port and MAC their destination last went to (the worker's
// NextHopCache6, dropped whenever routes or neighbours change); otherwise route_ipv6() routes
// them (and asks for a next hop it does not know). The link's MTU is checked either way.
template <class Io>
void Burst<Io>::forward6() {
    Worker6::Scratch& s6 = w_.v6->scratch;
    NextHopCache6& cache = w_.v6->next_hops;
    cache.sync(st_.generation(), w_.shared.neighbours6().version());
    for (unsigned f = 0; f < n_fwd6_; ++f) {
        const unsigned i = s6.fwd_lane[f];
        rte_mbuf* m = s_.lanes[i].m;
        PacketMeta6& pm = s6.pm[i];
        const NextHopCache6::Entry* c = cache.find(pm.dst);
        if (c != nullptr && kIp6Len + pm.payload_len <= st_.v6().mtu(c->port)) [[likely]] {
            --pm.ip->hop_limits;
            auto* eth = eth_of(m);
            eth->dst_addr = c->mac;
            eth->src_addr = st_.ifaces()[c->port].mac;
            io_.tx(c->port, m);
            continue;
        }
        bool resolved = false;
        const Ip6 dst = pm.dst;
        const Fate fate = route_ipv6(slow_, m, pm, &resolved);
        if (resolved) cache.remember(dst, slow_.out_port, eth_of(m)->dst_addr);
        dispatch(fate, i);
    }
}

}  // namespace nfgate::engine::burst_detail

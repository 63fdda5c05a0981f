// Neighbour discovery (RFC 4861) for the fast path, IPv6's ARP: answers Neighbour Solicitations
// for the gateway's addresses and the service VIPs inside an interface's subnet, reads
// Neighbour Advertisements for the neighbour table, and builds the solicitations that resolve a
// next hop and the unsolicited advertisements that announce an address. Answers are written in
// place in the mbuf, as arp.hpp does for IPv4.
//
// The byte-level parts (parse_ns, parse_na, write_ns, write_na) work on a header and a buffer,
// so the validity rules are tested without an mbuf.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <concepts>
#include <cstdint>

#include "dataplane/engine/icmp6_verdict.hpp"
#include "dataplane/engine/icmp6_wire.hpp"

namespace nfgate::engine {

// An NS or NA: the 8-byte ICMPv6 header, the 16-byte target, one link-layer address option.
inline constexpr uint32_t kNdFixedLen = 24;
inline constexpr uint32_t kNdLinkOptionLen = 8;
inline constexpr uint32_t kNdFrameLen = kEthLen + kIp6Len + kNdFixedLen + kNdLinkOptionLen;

// The interface a message arrives on or leaves by.
struct NdIface {
    rte_ether_addr mac{};
    // RFC 4861 4.4: the Router flag "indicates that the sender is a router"; the gateway
    // forwards, so it says so unless told otherwise.
    bool router = true;
};

struct Solicitation {
    Ip6 src{};  // unspecified for duplicate address detection
    Ip6 target{};
    rte_ether_addr eth_src{};
    bool has_source_mac = false;  // the source link-layer address option
    rte_ether_addr source_mac{};
};

struct Advertisement {
    Ip6 target{};
    bool router = false, solicited = false, override_flag = false;
    bool has_target_mac = false;  // the target link-layer address option
    rte_ether_addr target_mac{};
};

// RFC 4861 7.1.1 / 7.1.2 validity of the NS / NA of `icmp_len` bytes at `icmp`, carried by
// `ip`. `read` when valid, with the message in the out parameter; otherwise the rule broken.
Icmp6Verdict parse_ns(const rte_ipv6_hdr& ip, const uint8_t* icmp, uint32_t icmp_len, Solicitation& ns);
Icmp6Verdict parse_na(const rte_ipv6_hdr& ip, const uint8_t* icmp, uint32_t icmp_len, Advertisement& na);

// A whole NA frame (kNdFrameLen bytes at `frame`) with a target link-layer address option.
struct NaFields {
    rte_ether_addr eth_dst{}, eth_src{};
    Ip6 src{}, dst{}, target{};
    bool router = false, solicited = false, override_flag = false;
};
void write_na(uint8_t* frame, const NaFields& f);

// A whole NS frame (kNdFrameLen bytes) from `src` asking for `target`, to its solicited-node
// multicast group, with a source link-layer address option.
void write_ns(uint8_t* frame, const rte_ether_addr& mac, const Ip6& src, const Ip6& target);

// The received frame in `m` as a valid NS (`read`, `ns` filled in) or the rule it broke.
Icmp6Verdict read_ns(rte_mbuf* m, Solicitation& ns);

// Overwrites `m` with the NA answering `ns` from `iface`: `answered`, or `no_room`.
Icmp6Verdict reply_to_ns(rte_mbuf* m, const Solicitation& ns, const NdIface& iface);

// Handles a received NS: `answered` when `m` now holds the NA to send back out the port it
// came in on (the target is one `owns` accepts); any other verdict means `m` is to be dropped.
// `ns` is left filled in whenever the NS was valid, so the caller can learn its source
// (RFC 4861 7.2.3: a solicitation with a source link-layer address creates or updates the
// sender's entry).
template <class Owns>
    requires std::predicate<Owns, const Ip6&>
Icmp6Verdict answer_ns(rte_mbuf* m, const NdIface& iface, Owns&& owns, Solicitation& ns) {
    const Icmp6Verdict v = read_ns(m, ns);
    if (v != Icmp6Verdict::read) return v;
    if (!owns(ns.target)) return Icmp6Verdict::not_for_us;
    return reply_to_ns(m, ns, iface);
}

// The received frame in `m` as a valid NA (`read`, `na` filled in) or the rule it broke.
Icmp6Verdict read_na(rte_mbuf* m, Advertisement& na);

// Overwrites `m` with an NS from `src` (one of `iface`'s addresses, RFC 4861 7.2.2) resolving
// `target`. False when `m` cannot hold it.
bool build_ns(rte_mbuf* m, const NdIface& iface, const Ip6& src, const Ip6& target);

// Overwrites `m` with a unicast NS from `src` to `target` at its cached `mac`: the probe of
// neighbour unreachability detection (RFC 4861 7.3.3). False when `m` cannot hold it.
bool build_probe_ns(rte_mbuf* m, const NdIface& iface, const Ip6& src, const Ip6& target, const rte_ether_addr& mac);

// Overwrites `m` with an unsolicited NA announcing `addr` at `iface`'s MAC to all nodes
// (RFC 4861 7.2.6), for when a port comes up or a VIP moves in. False when `m` cannot hold it.
bool build_unsolicited_na(rte_mbuf* m, const NdIface& iface, const Ip6& addr);

}  // namespace nfgate::engine

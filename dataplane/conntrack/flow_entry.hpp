// The flow entries of the connection-tracking tables: FlowEntry (IPv4, one cache line) and
// FlowEntry6 (IPv6, two cache lines). Both carry the same fields under the same names, so one
// table template (conntrack_table.hpp) serves both; only the checksum deltas differ, because
// IPv6 has no header checksum.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/conntrack/flow.hpp"
#include "dataplane/conntrack/flow6.hpp"
#include "dataplane/conntrack/tcp_state.hpp"

namespace nfgate::ct {

// Entry life cycle. free -> live (insert) -> unlinked (any worker took it out of the buckets) ->
// queued (owner put it on its deferred-free queue) -> free (after the grace period).
enum class EntryLife : uint8_t { free = 0, live = 1, unlinked = 2, queued = 3 };

// Flow flag bits (FlowEntry::flags).
inline constexpr uint8_t kFlowSeenReply = 0x01;  // a packet went the reply way (UDP: assured)
// Opened by the engine's SYN proxy: the backend's sequence numbers differ from the ones the
// client was given by FlowEntry::seq_shift (see dataplane/engine/syn_proxy.hpp).
inline constexpr uint8_t kFlowSynProxy = 0x02;
// ... and the backend has not answered the proxy's SYN yet: seq_shift holds the cookie.
inline constexpr uint8_t kFlowSynProxyPending = 0x04;

// The read accessors both entry types share, over the fields of `E` (an empty base: it adds
// no bytes to the entry).
template <class E, class K>
struct FlowEntryAccess {
    const K& key_of(Dir d) const { return self().key[static_cast<unsigned>(d)]; }
    // The 5-tuple a packet that matched key_of(d) carries after NAT: src = other.dst, dst =
    // other.src, ports likewise.
    K translated(Dir d) const { return key_of(opposite(d)).reversed(); }
    uint16_t l4_delta(Dir d) const { return self().l4_csum_delta[static_cast<unsigned>(d)]; }
    uint8_t proto() const { return self().key[0].proto; }
    TcpState tcp_state() const { return static_cast<TcpState>(self().state.load(std::memory_order_relaxed)); }
    bool seen_reply() const { return self().flags.load(std::memory_order_relaxed) & kFlowSeenReply; }
    bool linked() const { return self().life.load(std::memory_order_acquire) == uint8_t(EntryLife::live); }

private:
    const E& self() const { return static_cast<const E&>(*this); }
};

// One IPv4 flow. Everything but the atomics is written once, before the flow is published, and
// only read afterwards, by any worker.
struct alignas(64) FlowEntry : FlowEntryAccess<FlowEntry, FlowKey> {
    using Key = FlowKey;

    // key[orig]: client -> VIP as received; key[reply]: what the backend sends back. A packet
    // that matched key[d] leaves as translated(d).
    FlowKey key[2];
    std::atomic<uint32_t> last_seen{0};  // clock of the last valid packet
    std::atomic<uint8_t> state{0};       // TcpState for TCP, 0 otherwise
    std::atomic<uint8_t> flags{0};       // kFlow* bits
    std::atomic<uint8_t> life{0};        // EntryLife
    uint8_t reserved = 0;
    // RFC 1624 deltas (folded one's complement sums of ~old + new over the changed 16-bit words,
    // in packet byte order) that turn key[d] into translated(d): apply with net::csum_apply().
    // ip: the IPv4 header checksum (addresses). l4: the TCP/UDP checksum (pseudo-header addresses
    // and ports) or, for ICMP echo, the ICMP checksum (identifier only). A UDP checksum of 0
    // means "none" and must stay 0.
    uint16_t ip_csum_delta[2] = {0, 0};
    uint16_t l4_csum_delta[2] = {0, 0};
    uint16_t snat_pool = kNoSnat;  // SnatPorts pool whose port this flow holds, or kNoSnat
    uint16_t snat_port = 0;        // network order; returned to the pool when reclaimed
    uint32_t tag = 0;              // set by the inserter, opaque to the table (the engine keeps a FlowTag)
    uint32_t created = 0;          // clock at insert
    std::atomic<uint32_t> seq_shift{0};  // kFlowSynProxy: backend ISN - cookie (pending: the cookie)

    uint16_t ip_delta(Dir d) const { return ip_csum_delta[static_cast<unsigned>(d)]; }
};
static_assert(sizeof(FlowEntry) == 64, "one cache line per flow");

// One IPv6 flow: the same fields as FlowEntry. Two 40-byte keys do not fit a cache line with
// the rest, so the entry takes two (key[0] in the first, key[1] across both, the state after
// it); a hit reads both anyway, for the key it matched and the other one it translates to, and
// the lookup prefetches them together.
struct alignas(64) FlowEntry6 : FlowEntryAccess<FlowEntry6, FlowKey6> {
    using Key = FlowKey6;

    FlowKey6 key[2];
    std::atomic<uint32_t> last_seen{0};
    std::atomic<uint8_t> state{0};
    std::atomic<uint8_t> flags{0};
    std::atomic<uint8_t> life{0};
    uint8_t reserved = 0;
    // Only the upper-layer checksum changes: IPv6 has no header checksum, and the TCP, UDP and
    // ICMPv6 checksums all cover a pseudo-header with both addresses (RFC 8200 8.1), so each
    // delta holds the address words and the ports (ICMPv6 echo: the identifier once).
    uint16_t l4_csum_delta[2] = {0, 0};
    uint16_t snat_pool = kNoSnat;
    uint16_t snat_port = 0;
    uint32_t tag = 0;
    uint32_t created = 0;
    std::atomic<uint32_t> seq_shift{0};
};
static_assert(sizeof(FlowEntry6) == 128, "two cache lines per IPv6 flow");

}  // namespace nfgate::ct

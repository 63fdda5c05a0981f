// The per-worker memory that lets IPv4 fragments of a translated flow be translated too, without
// reassembly. Only the first fragment carries the L4 header, so only it can find its flow; its
// outgoing addresses are kept here under (src, dst, IP id, protocol) as it arrived, and every
// later fragment with that identity gets the same addresses.
//
// Per worker, no locks: RSS (and the TAP PMD's queue choice) hashes a fragment on its addresses
// only, never on ports it may not carry, so all fragments of one datagram reach one queue and so
// one worker. A first fragment handled by one worker is never needed by another.
//
// Holds the addresses, not a FlowEntry pointer: an entry may be freed after the worker's next
// quiescent state, while fragments keep arriving for a little longer.
//
// Timeout 2 s: a sender emits a datagram's fragments back to back, so they arrive within
// microseconds to milliseconds of each other even when reordered; Linux waits 30 s
// (ipfrag_time) because it buffers data for reassembly, which nothing here does. A short life
// keeps the table small and limits how long a stale mapping can catch a later datagram that
// reuses the same 16-bit IP id.
#pragma once

#include <rte_ip.h>

#include <cstdint>

#include "dataplane/net/checksum.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/worker_stats.hpp"

namespace nfgate::engine {

// The table over a datagram identity `K` (with hash()) and the addresses `T` its first fragment
// left with; one per family (FragmentTable here, FragmentTable6 in fragment_table6.hpp).
template <class K, class T>
class BasicFragmentTable {
public:
    static constexpr unsigned kWays = 4;            // entries per set; a full set evicts its oldest
    static constexpr unsigned kSets = 256;          // 1024 datagrams in flight per worker
    static constexpr uint64_t kTimeoutNs = 2'000'000'000;

    using Key = K;
    using Translation = T;

    // Records `t` for `k`; returns false when a live entry of another datagram had to be evicted.
    bool remember(const Key& k, const Translation& t, uint64_t now_ns) {
        Slot* set = set_of(k);
        Slot* victim = &set[0];  // unused slots expire at 0: the oldest of a set is taken first
        for (unsigned w = 0; w < kWays; ++w) {
            Slot& s = set[w];
            if (s.used && s.key == k) {
                victim = &s;
                break;
            }
            if (s.expires_ns < victim->expires_ns) victim = &s;
        }
        const bool evicted = victim->used && !(victim->key == k) && victim->expires_ns > now_ns;
        *victim = Slot{k, t, now_ns + kTimeoutNs, true};
        return !evicted;
    }

    // The translation of `k`'s first fragment, or nullptr when unknown or expired.
    const Translation* find(const Key& k, uint64_t now_ns) const {
        const Slot* set = set_of(k);
        for (unsigned w = 0; w < kWays; ++w) {
            const Slot& s = set[w];
            if (s.used && s.key == k && s.expires_ns > now_ns) return &s.t;
        }
        return nullptr;
    }

    // Forgets every entry (tests; a worker that restarts).
    void clear() {
        for (Slot& s : slots_) s = Slot{};
    }

private:
    struct Slot {
        Key key;
        Translation t;
        uint64_t expires_ns = 0;
        bool used = false;
    };

    Slot* set_of(const Key& k) { return &slots_[index(k) * kWays]; }
    const Slot* set_of(const Key& k) const { return &slots_[index(k) * kWays]; }
    static unsigned index(const Key& k) { return static_cast<unsigned>((k.hash() * 0x9e3779b97f4a7c15ull) >> 56) % kSets; }

    Slot slots_[kSets * kWays];
};

// The identity of one IPv4 datagram as it arrived (network order).
struct FragmentKey {
    uint32_t src = 0, dst = 0;
    uint16_t ip_id = 0;
    uint8_t proto = 0;

    bool operator==(const FragmentKey&) const = default;
    uint64_t hash() const { return (uint64_t{src} << 32 | dst) ^ (uint64_t{ip_id} << 8 | proto); }
};

// Addresses an IPv4 datagram's first fragment left with (network order).
struct FragmentAddrs {
    uint32_t src = 0, dst = 0;
};

class FragmentTable : public BasicFragmentTable<FragmentKey, FragmentAddrs> {
public:
    static Key key_of(const rte_ipv4_hdr* ip) {
        return Key{ip->src_addr, ip->dst_addr, ip->packet_id, ip->next_proto_id};
    }
};

// Rewrites a later fragment (no L4 header) to the first fragment's addresses; the IP header
// checksum change is added to `ip_delta`, which forwarding folds in with the TTL decrement.
inline void translate_later_fragment(rte_ipv4_hdr* ip, const FragmentTable::Translation& t, net::CsumDelta& ip_delta) {
    ip_delta.add32(ip->src_addr, t.src);
    ip_delta.add32(ip->dst_addr, t.dst);
    ip->src_addr = t.src;
    ip->dst_addr = t.dst;
}

// A first fragment of TCP or UDP carries the ports: it takes the flow-table path like an
// unfragmented packet (its L4 checksum covers the whole datagram, and the incremental update
// of the pseudo-header and ports stays exact). Everything else fragmented stays untracked.
inline bool first_fragment_tracked(const PacketMeta& pm) {
    return pm.fragment && !pm.later_fragment && (pm.proto == net::kProtoTcp || pm.proto == net::kProtoUdp) &&
           pm.ip->time_to_live > 1;
}

// After a first fragment was forwarded: remembers the addresses it left with under the identity
// it arrived with (`orig_src`/`orig_dst`, network order).
inline void remember_first_fragment(FragmentTable& ft, BurstCounters& bc, uint32_t orig_src, uint32_t orig_dst,
                                    const rte_ipv4_hdr* ip, uint64_t now_ns) {
    const FragmentTable::Key k{orig_src, orig_dst, ip->packet_id, ip->next_proto_id};
    if (!ft.remember(k, {ip->src_addr, ip->dst_addr}, now_ns)) bc.count(Reason::fragment_table_evicted);
}

}  // namespace nfgate::engine

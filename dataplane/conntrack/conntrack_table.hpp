// The connection-tracking table shared by every worker.
//
// Layout. A power-of-two array of buckets, each one cache line of 8 slots. A slot is one 64-bit
// word: [63..32] signature (high half of flow_hash) | [31] pending | [30] direction |
// [29..0] entry index + 1; 0 is an empty slot. A key goes to its first bucket while that is not
// crowded, else to the less loaded of its two (both from the low half of the hash); there are no
// cuckoo moves, so a slot never changes key while linked. A small per-bucket counter says how
// many keys of a first bucket live in their second one: a lookup reads the second bucket only
// when that is not zero, so a hit or a miss usually costs one bucket cache line, as in rte_hash.
// Entries (flow_entry.hpp) are preallocated; each flow is linked under two keys, its original
// and its reply direction, which both point at the one entry.
//
// Families. FlowTable is a template over the entry type with one explicit instantiation per
// address family: ConntrackTable (FlowEntry, 16-byte keys, one cache line per entry) and
// ConntrackTable6 (FlowEntry6, 40-byte keys, two cache lines). One table per family, not one
// for both: a shared entry array gives IPv4 flows the 128-byte IPv6 entry, and a shared bucket
// array needs a family bit in the slot word, tested on every IPv4 hit. Measured with the table
// instantiated for IPv4 keys in 128-byte entries (bench_conntrack, 1M flows): 168.5 instead of
// 104.5 bytes per IPv4 flow and lookup hits at ~98 instead of ~74-87 cycles, before any family
// test. Apart, the IPv4 table keeps its layout and code path exactly, each family is sized on
// its own, and an IPv6 flood cannot evict IPv4 flows; the cost is a second preallocation.
//
// Readers (lookup, lookup_bulk, track) take no lock: acquire-load slot words, follow the index,
// compare the full key. Writers claim an empty slot with compare-and-swap while it is marked
// pending (readers skip pending slots), then re-scan both buckets for the same key: a linked
// duplicate wins; between two pending claims the lower slot position wins, the other one
// withdraws and answers with the winner's entry. Only then are the reply and original slots
// published, in that order, so a reply never misses a flow whose original packet went out.
//
// Memory safety is RCU (rte_rcu_qsbr): an unlinked entry is recycled only after every worker has
// reported a quiescent state. A worker must therefore not keep an entry pointer across its
// quiescent() call. A lookup can return an entry that another worker is unlinking at that moment;
// it stays readable until the reader's next quiescent state, and treating it as a hit is correct.
//
// Ownership. Entry index space is cut into one partition per worker. A worker inserts only into
// its own partition and only it pushes and pops that partition's free list and deferred-free
// queue, so allocation is single-threaded. Any worker may unlink() any live entry (the backend
// died, a TCP port was reused); the owner's age() sweep finds it and queues it for recycling.
//
// Time is a coarse clock in seconds passed in by the caller (computed once per burst), as a
// wrapping uint32_t; flows never live long enough for the wrap to matter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <immintrin.h>

#include "dataplane/conntrack/flow.hpp"
#include "dataplane/conntrack/flow6.hpp"
#include "dataplane/conntrack/flow_entry.hpp"
#include "dataplane/conntrack/tcp_state.hpp"

struct rte_rcu_qsbr;

namespace nfgate::ct {

class SnatPorts;

// Timeouts in seconds; the defaults are Linux's (nf_conntrack_*_timeout*).
struct Timeouts {
    uint32_t tcp[kTcpStateCount] = {kTcpDefaultTimeout[0], kTcpDefaultTimeout[1],
                                    kTcpDefaultTimeout[2], kTcpDefaultTimeout[3],
                                    kTcpDefaultTimeout[4], kTcpDefaultTimeout[5],
                                    kTcpDefaultTimeout[6], kTcpDefaultTimeout[7],
                                    kTcpDefaultTimeout[8]};
    uint32_t udp_unreplied = 30;  // nf_conntrack_udp_timeout
    uint32_t udp_assured = 120;   // nf_conntrack_udp_timeout_stream: seen in both directions
    uint32_t icmp = 30;           // nf_conntrack_icmp_timeout
    uint32_t other = 600;         // nf_conntrack_generic_timeout
};

// Result of a lookup: the entry and which of its keys matched; entry == nullptr on a miss.
template <class E>
struct BasicFlowRef {
    E* entry = nullptr;
    Dir dir = Dir::orig;
    explicit operator bool() const { return entry != nullptr; }
};
using FlowRef = BasicFlowRef<FlowEntry>;
using FlowRef6 = BasicFlowRef<FlowEntry6>;

// What insert() needs to know about a new flow.
template <class K>
struct BasicFlowInit {
    K orig;   // the packet as received
    K reply;  // what the reply will look like (after DNAT/SNAT choice); != orig
    uint8_t tcp_flags = 0;  // flags of the first packet (TCP only)
    uint32_t tag = 0;
    uint16_t snat_pool = kNoSnat;
    uint16_t snat_port = 0;  // network order
    uint8_t flags = 0;        // kFlowSynProxy* bits the flow starts with
    uint32_t seq_shift = 0;
};
using FlowInit = BasicFlowInit<FlowKey>;
using FlowInit6 = BasicFlowInit<FlowKey6>;

enum class InsertStatus : uint8_t {
    inserted,  // entry is the new flow
    exists,    // the original key was there already (or a racing insert won): entry is that flow
    clash,     // the reply key belongs to another flow: pick another SNAT port, or drop
    full,      // no free entry in this worker's partition, or both buckets of a key are full
    busy,      // a racing insert of the same key did not finish in time: drop, the sender retries
    invalid,   // TCP first packet that cannot open a connection, or reply == orig
};
const char* insert_status_name(InsertStatus s);

template <class E>
struct BasicInsertResult {
    InsertStatus status;
    E* entry = nullptr;  // inserted / exists
};
using InsertResult = BasicInsertResult<FlowEntry>;
using InsertResult6 = BasicInsertResult<FlowEntry6>;

// Per worker counters, written only by their worker; summed by stats().
struct ConntrackStats {
    uint64_t inserted = 0;
    uint64_t exists = 0;
    uint64_t clash = 0;
    uint64_t full_entries = 0;  // refused: partition out of entries
    uint64_t full_buckets = 0;  // refused: both buckets of a key full
    uint64_t busy = 0;
    uint64_t invalid = 0;
    uint64_t races_lost = 0;    // claims withdrawn because a racing insert won
    uint64_t expired = 0;       // unlinked by age(): timeout
    uint64_t unlinked = 0;      // unlinked by unlink() (any worker's calls, counted by the owner)
    uint64_t recycled = 0;      // back on a free list after the grace period
    uint64_t live = 0;          // entries not free (linked or waiting for the grace period)
    uint64_t early_dropped = 0; // unassured flows unlinked to make room in a full partition
    uint64_t half_open = 0;     // TCP flows in SYN_SENT/SYN_RECV, counted by the last full sweep
};

struct ConntrackConfig {
    uint32_t max_flows = 1u << 20;
    unsigned workers = 1;
    // QSBR variable shared with the rest of the fast path, reader thread id i = worker i,
    // registered and online by its owner. nullptr: the table creates its own, registers
    // workers 0..workers-1 and puts them online (they must then report quiescent() or go
    // offline()).
    rte_rcu_qsbr* qsbr = nullptr;
    Timeouts timeouts;
    // Ports of recycled flows go back here (by pool index, protocol and port). Each family's
    // table needs the SnatPorts whose pools are that family's SNAT addresses.
    SnatPorts* snat = nullptr;
};

// Per-worker state of a table (conntrack_worker.hpp): the same for every family.
struct ConntrackWorker;

template <class E>
class FlowTable {
public:
    using Entry = E;
    using Key = typename E::Key;
    using Ref = BasicFlowRef<E>;
    using Init = BasicFlowInit<Key>;
    using Result = BasicInsertResult<E>;
    using Config = ConntrackConfig;

    // Allocates everything now (mmap, not DPDK memory). nullptr with `err` set on failure.
    static std::unique_ptr<FlowTable> create(const Config& cfg, std::string& err);
    ~FlowTable();
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    // ---- any worker, no lock ----
    Ref lookup(const Key& k) const;
    // Looks up n <= 64 keys at once (hash all, prefetch buckets, match signatures, prefetch
    // entries, compare keys). out[i] is the hit for keys[i]; bit i of the result is set on a hit.
    uint64_t lookup_bulk(const Key* keys, unsigned n, Ref* out) const;

    // Accounts a packet to a flow it matched: TCP state transition (compare-and-swap, safe when
    // the two directions arrive on different workers), reply seen, last_seen. Invalid TCP
    // packets change nothing and return invalid.
    static TcpVerdict track(E& e, Dir d, uint8_t tcp_flags, uint32_t now);

    // Takes a live flow out of the table now (e.g. its backend died and the packet will create a
    // new one). True for the one caller that unlinked it. The owner recycles it later.
    bool unlink(E& e);

    // Whether `e` has timed out at `now`.
    bool expired(const E& e, uint32_t now) const;
    uint32_t timeout_of(const E& e) const;

    // ---- the worker itself ----
    // Links a new flow under f.orig and f.reply, taking an entry from the worker's partition.
    // The flow holds f.snat_port only when the result is `inserted`; otherwise the caller still
    // owns the port (release it, or retry with another port on `clash`). Counted per status.
    Result insert(unsigned worker, const Init& f, uint32_t now);

    // Incremental ageing: examines up to `budget` entries of the worker's own partition from
    // where the last call stopped, unlinks the expired ones and recycles the ones whose grace
    // period is over. Returns the number unlinked by this call. A flow that another worker
    // refreshes in the very instant the sweep finds it expired may still go; its next packet
    // then creates a new flow, as after any expiry.
    unsigned age(unsigned worker, uint32_t now, unsigned budget);

    // Reports the worker's quiescent state (once per loop, holding no entry pointer).
    void quiescent(unsigned worker) const;
    // Only for a table that made its own QSBR: a worker that stops reporting goes offline.
    void offline(unsigned worker) const;
    void online(unsigned worker) const;

    // ---- any thread ----
    ConntrackStats stats() const;
    ConntrackStats worker_stats(unsigned worker) const;
    uint32_t capacity() const { return max_flows_; }
    unsigned workers() const { return workers_; }
    unsigned owner_of(const E& e) const;
    size_t memory_bytes() const;  // buckets + entries + free lists
    // Linked keys that live in their second bucket (each one costs lookups a second cache line).
    // Scans a byte per bucket: for statistics, not per packet.
    uint64_t spilled_keys() const;
    rte_rcu_qsbr* qsbr() const { return qsbr_; }
    const Timeouts& timeouts() const { return timeouts_; }
    // Every entry, free or not (they are preallocated and never unmapped while the table lives):
    // for listings that copy entries with a check (conntrack_walk.hpp), never for the hot path.
    const E* entries_begin() const { return entries_; }

private:
    struct alignas(64) Bucket {
        std::atomic<uint64_t> slot[8];
    };
    using Worker = ConntrackWorker;
    enum class Claim : uint8_t { claimed, exists, busy, full };

    static constexpr uint64_t kPending = 1ull << 31;
    static constexpr uint64_t kDirBit = 1ull << 30;
    static constexpr uint64_t kIndexMask = kDirBit - 1;
    static constexpr uint64_t kMatchMask = ~kIndexMask & ~kDirBit;  // signature + pending
    // probe_match's answers besides a slot word (which always has bit 32 set): no key can be
    // there, or only the full two-bucket path can tell.
    static constexpr uint64_t kProbeMiss = 0;
    static constexpr uint64_t kProbeCareful = 1;

    FlowTable() = default;

    // The high half of the hash with its lowest bit forced on, so no signature matches an
    // empty (all-zero) slot.
    static uint64_t signature(uint64_t hash) { return (hash & 0xffffffff00000000ull) | (1ull << 32); }
    static uint64_t slot_word(uint64_t hash, Dir d, uint32_t idx) {
        return signature(hash) | (d == Dir::reply ? kDirBit : 0) | (uint64_t{idx} + 1);
    }
    // Bit i set when (slot i & mask) == want.
    static uint32_t match_bits(const Bucket& b, uint64_t want, uint64_t mask = kMatchMask);
    static uint32_t slot_index(uint64_t w) { return static_cast<uint32_t>(w & kIndexMask) - 1; }
    static Dir slot_dir(uint64_t w) { return (w & kDirBit) ? Dir::reply : Dir::orig; }
    uint32_t bucket1(uint64_t hash) const { return static_cast<uint32_t>(hash) & bucket_mask_; }
    uint32_t bucket2(uint64_t hash) const {
        uint32_t b = (static_cast<uint32_t>(hash >> 16) ^ static_cast<uint32_t>(hash >> 40)) & bucket_mask_;
        return b == bucket1(hash) ? b ^ 1 : b;
    }

    // lookup_bulk's three per-key stages, run over all keys one stage at a time so the two
    // dependent cache misses (bucket, then entry) overlap instead of stalling:
    //   probe_hash(k)            hashes k and prefetches its first bucket;
    //   probe_match(hash)        (bucket in cache by now) matches the signature and prefetches
    //                            the candidate entry; returns the probe word for probe_finish;
    //   probe_finish(k, h, w)    (entry in cache by now) compares the key; the rare cases
    //                            (several signature matches, spilled keys) take the full path.
    uint64_t probe_hash(const Key& k) const;
    uint64_t probe_match(uint64_t hash) const;
    Ref probe_finish(const Key& k, uint64_t hash, uint64_t probe) const;

    // Every cache line of the entry: a hit reads both keys (FlowEntry6 spans two lines).
    void prefetch_entry(uint32_t idx) const {
        for (size_t off = 0; off < sizeof(E); off += 64)
            __builtin_prefetch(reinterpret_cast<const char*>(&entries_[idx]) + off);
    }
    Ref find_in(const Bucket& b, uint64_t want, const Key& k) const;
    Ref find_slow(const Key& k, uint64_t hash) const;

    Claim claim(const Key& k, uint64_t hash, Dir d, uint32_t idx, bool wait_for_winner,
                uint32_t& pos, uint32_t& winner);
    bool wait_for_change(uint32_t pos, uint64_t w, uint64_t& now_w) const;
    void remove_word(uint64_t hash, uint64_t word);
    void fill_entry(E& e, const Init& f, uint32_t now) const;
    void defer_free(Worker& w, uint32_t idx);
    void recycle_ready(Worker& w);
    bool grace_period_over(uint64_t token) const;
    void seal_deferred(Worker& w);
    unsigned early_drop(Worker& w);
    static void sweep_wrapped(Worker& w);

    uint32_t max_flows_ = 0;
    unsigned workers_ = 0;
    uint32_t bucket_mask_ = 0;
    Bucket* buckets_ = nullptr;
    std::atomic<uint8_t>* spilled_ = nullptr;  // per bucket: its keys that live in their bucket2
    E* entries_ = nullptr;
    struct Region {  // one anonymous mapping: buckets, entries, index lists, spill counters
        void* base = nullptr;
        size_t len = 0;
        void* ptr = nullptr;  // base rounded up to 2 MiB
    };
    Region regions_[4];
    size_t buckets_bytes_ = 0;
    size_t entries_bytes_ = 0;
    size_t lists_bytes_ = 0;
    size_t spilled_bytes_ = 0;
    Worker* w_ = nullptr;
    uint32_t partition_ = 0;  // entries per worker (the last one may have fewer)
    rte_rcu_qsbr* qsbr_ = nullptr;
    void* own_qsbr_ = nullptr;
    Timeouts timeouts_;
    SnatPorts* snat_ = nullptr;
};

using ConntrackTable = FlowTable<FlowEntry>;
using ConntrackTable6 = FlowTable<FlowEntry6>;

// ---- inline hot path ----

template <class E>
inline uint32_t FlowTable<E>::match_bits(const Bucket& b, uint64_t want, uint64_t mask) {
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer cannot see a vector load as an atomic read of each slot.
    uint32_t bits = 0;
    for (unsigned i = 0; i < 8; i++)
        bits |= uint32_t{(b.slot[i].load(std::memory_order_seq_cst) & mask) == want} << i;
    return bits;
#else
    // Four 16-byte loads: an aligned 8-byte slot is never torn, and every candidate is re-read
    // with an acquire load before its entry is touched.
    const __m128i m = _mm_set1_epi64x(static_cast<long long>(mask));
    const __m128i w = _mm_set1_epi64x(static_cast<long long>(want));
    const auto* v = reinterpret_cast<const __m128i*>(&b.slot[0]);
    uint32_t bits = 0;
    for (unsigned q = 0; q < 4; q++) {
        const __m128i eq = _mm_cmpeq_epi64(_mm_and_si128(_mm_load_si128(v + q), m), w);
        bits |= static_cast<uint32_t>(_mm_movemask_pd(_mm_castsi128_pd(eq))) << (2 * q);
    }
    return bits;
#endif
}

template <class E>
inline BasicFlowRef<E> FlowTable<E>::find_in(const Bucket& b, uint64_t want, const Key& k) const {
    for (uint32_t bits = match_bits(b, want); bits != 0; bits &= bits - 1) {
        const uint64_t w = b.slot[__builtin_ctz(bits)].load(std::memory_order_acquire);
        if ((w & kMatchMask) != want) continue;
        E& e = entries_[slot_index(w)];
        const Dir d = slot_dir(w);
        if (e.key_of(d) == k) return {&e, d};
    }
    return {};
}

template <class E>
inline BasicFlowRef<E> FlowTable<E>::find_slow(const Key& k, uint64_t hash) const {
    const uint64_t want = signature(hash);
    const uint32_t b1 = bucket1(hash);
    Ref r = find_in(buckets_[b1], want, k);
    if (r || spilled_[b1].load(std::memory_order_acquire) == 0) return r;
    return find_in(buckets_[bucket2(hash)], want, k);
}

template <class E>
inline BasicFlowRef<E> FlowTable<E>::lookup(const Key& k) const { return find_slow(k, flow_hash(k)); }

template <class E>
inline uint64_t FlowTable<E>::probe_hash(const Key& k) const {
    const uint64_t hash = flow_hash(k);
    __builtin_prefetch(&buckets_[bucket1(hash)]);
    return hash;
}

// A hit whose first bucket holds one signature match needs neither the spill counter nor the
// second bucket: both are read only when that single candidate is absent or wrong.
template <class E>
inline uint64_t FlowTable<E>::probe_match(uint64_t hash) const {
    const uint64_t want = signature(hash);
    const uint32_t b = bucket1(hash);
    const uint32_t bits = match_bits(buckets_[b], want);
    if (bits != 0 && (bits & (bits - 1)) == 0) {
        const uint64_t w = buckets_[b].slot[__builtin_ctz(bits)].load(std::memory_order_acquire);
        if ((w & kMatchMask) == want) {
            prefetch_entry(slot_index(w));
            return w;
        }
        return kProbeCareful;
    }
    if (bits != 0) return kProbeCareful;
    if (spilled_[b].load(std::memory_order_acquire) == 0) return kProbeMiss;
    __builtin_prefetch(&buckets_[bucket2(hash)]);
    return kProbeCareful;
}

template <class E>
inline BasicFlowRef<E> FlowTable<E>::probe_finish(const Key& k, uint64_t hash, uint64_t probe) const {
    if (probe == kProbeMiss) return {};
    if (probe != kProbeCareful) {
        E& e = entries_[slot_index(probe)];
        const Dir d = slot_dir(probe);
        if (e.key_of(d) == k) return {&e, d};
    }
    return find_slow(k, hash);
}

template <class E>
inline uint64_t FlowTable<E>::lookup_bulk(const Key* keys, unsigned n, Ref* out) const {
    uint64_t hashes[64];
    uint64_t probes[64];
    for (unsigned i = 0; i < n; i++) hashes[i] = probe_hash(keys[i]);
    for (unsigned i = 0; i < n; i++) probes[i] = probe_match(hashes[i]);
    uint64_t hits = 0;
    for (unsigned i = 0; i < n; i++) {
        out[i] = probe_finish(keys[i], hashes[i], probes[i]);
        hits |= uint64_t{out[i].entry != nullptr} << i;
    }
    return hits;
}

template <class E>
inline TcpVerdict FlowTable<E>::track(E& e, Dir d, uint8_t tcp_flags, uint32_t now) {
    TcpVerdict v = TcpVerdict::ok;
    if (e.proto() == net::kProtoTcp) {
        uint8_t cur = e.state.load(std::memory_order_relaxed);
        for (;;) {
            const TcpStep st = tcp_step(static_cast<TcpState>(cur), d, tcp_flags);
            v = st.verdict;
            if (v != TcpVerdict::ok || static_cast<uint8_t>(st.next) == cur) break;
            if (e.state.compare_exchange_weak(cur, static_cast<uint8_t>(st.next),
                                              std::memory_order_relaxed))
                break;
        }
        if (v == TcpVerdict::invalid) return v;
    }
    if (d == Dir::reply && !(e.flags.load(std::memory_order_relaxed) & kFlowSeenReply))
        e.flags.fetch_or(kFlowSeenReply, std::memory_order_relaxed);
    if (e.last_seen.load(std::memory_order_relaxed) != now)
        e.last_seen.store(now, std::memory_order_relaxed);
    return v;
}

}  // namespace nfgate::ct

// Inserting a flow under its two keys (claim, race settlement, publication) and unlinking it.
#include <immintrin.h>

#include <cstring>
#include <thread>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/conntrack_worker.hpp"
#include "dataplane/net/nat_delta.hpp"

namespace nfgate::ct {

namespace {

// The flow's precomputed deltas for rewriting key[d] into translated(d) (net/nat_delta.hpp),
// folded: the only part of an insert that differs per family. IPv4: the header and the L4
// checksum; IPv6: the L4 checksum alone.
void checksum_deltas(FlowEntry& e, Dir d) {
    const FlowKey& from = e.key_of(d);
    const FlowKey to = e.translated(d);
    const net::TupleDeltas t = net::tuple_deltas(from.proto, net::Tuple{from.src_ip, from.dst_ip, from.src_port, from.dst_port},
                                                 net::Tuple{to.src_ip, to.dst_ip, to.src_port, to.dst_port});
    e.ip_csum_delta[static_cast<unsigned>(d)] = t.ip.folded();
    e.l4_csum_delta[static_cast<unsigned>(d)] = t.l4.folded();
}

void checksum_deltas(FlowEntry6& e, Dir d) {
    const FlowKey6& from = e.key_of(d);
    const FlowKey6 to = e.translated(d);
    const net::CsumDelta t = net::tuple6_l4_delta(from.proto, net::Tuple6{from.src_ip, from.dst_ip, from.src_port, from.dst_port},
                                                  net::Tuple6{to.src_ip, to.dst_ip, to.src_port, to.dst_port});
    e.l4_csum_delta[static_cast<unsigned>(d)] = t.folded();
}

constexpr unsigned kSpinsBeforeYield = 64;
constexpr unsigned kSpillAt = 6;
constexpr unsigned kWaitRounds = 1u << 12;

}  // namespace

template <class E>
void FlowTable<E>::fill_entry(E& e, const Init& f, uint32_t now) const {
    e.key[0] = f.orig;
    e.key[1] = f.reply;
    e.last_seen.store(now, std::memory_order_relaxed);
    const uint8_t st = f.orig.proto == net::kProtoTcp
                           ? static_cast<uint8_t>(tcp_step(TcpState::none, Dir::orig, f.tcp_flags).next)
                           : 0;
    e.state.store(st, std::memory_order_relaxed);
    e.flags.store(f.flags, std::memory_order_relaxed);
    e.seq_shift.store(f.seq_shift, std::memory_order_relaxed);
    e.tag = f.tag;
    e.snat_pool = f.snat_pool;
    e.snat_port = f.snat_port;
    e.created = now;
    for (Dir d : {Dir::orig, Dir::reply}) checksum_deltas(e, d);
}

// Only reached when two workers insert the same key in the same instant. The occasional yield
// lets a preempted racer finish when workers share a core (tests, sanitizers); on dedicated
// lcores the pauses settle it first.
template <class E>
bool FlowTable<E>::wait_for_change(uint32_t pos, uint64_t w, uint64_t& now_w) const {
    const auto& slot = buckets_[pos / 8].slot[pos % 8];
    for (unsigned i = 0; i < kWaitRounds; i++) {
        now_w = slot.load(std::memory_order_acquire);
        if (now_w != w) return true;
        if (i % kSpinsBeforeYield == kSpinsBeforeYield - 1)
            std::this_thread::yield();
        else
            _mm_pause();
    }
    return false;
}

// Claims a pending slot for `k` and settles any race with another insert of the same key. The
// rule is deterministic: a linked duplicate wins; of two pending claims the lower slot position
// wins. Claim and re-scan are sequentially consistent, so of two racing inserts at least one
// sees the other: the higher one withdraws when it sees the lower; the lower one, seeing the
// higher, waits until it has withdrawn or published and scans again.
template <class E>
typename FlowTable<E>::Claim FlowTable<E>::claim(const Key& k, uint64_t hash, Dir d, uint32_t idx,
                                                 bool wait_for_winner, uint32_t& pos, uint32_t& winner) {
    const uint64_t word = slot_word(hash, d, idx);
    const uint32_t b[2] = {bucket1(hash), bucket2(hash)};
    // Slot count and first free slot of a bucket.
    auto scan = [&](uint32_t bucket, int& free_slot) {
        unsigned used = 0;
        free_slot = -1;
        for (unsigned s = 0; s < 8; s++) {
            if (buckets_[bucket].slot[s].load(std::memory_order_relaxed) != 0)
                used++;
            else if (free_slot < 0)
                free_slot = static_cast<int>(s);
        }
        return used;
    };
    for (;;) {
        // The first bucket while it has room to spare; past kSpillAt keys, the less loaded of the
        // two. Lookups read the second bucket only for spilled keys, and balancing the crowded
        // buckets keeps "both full" rare (simulated: none in 10^6 keys at 60% load, 8% spilled).
        int free0 = -1, free1 = -1;
        const unsigned used0 = scan(b[0], free0);
        unsigned t = 0;
        if (used0 >= kSpillAt) {
            const unsigned used1 = scan(b[1], free1);
            t = (used1 < used0 && free1 >= 0) || free0 < 0 ? 1 : 0;
        }
        const int s = t == 0 ? free0 : free1;
        if (s < 0) return Claim::full;
        if (t == 1) {
            if (spilled_[b[0]].load(std::memory_order_relaxed) == 0xff) return Claim::full;
            // Counted before the key can be seen there, uncounted after it is gone.
            spilled_[b[0]].fetch_add(1, std::memory_order_seq_cst);
        }
        uint64_t expect = 0;
        if (buckets_[b[t]].slot[s].compare_exchange_strong(expect, word | kPending,
                                                           std::memory_order_seq_cst)) {
            pos = b[t] * 8 + static_cast<uint32_t>(s);
            break;
        }
        if (t == 1) spilled_[b[0]].fetch_sub(1, std::memory_order_release);
    }
    auto withdraw = [&] {
        buckets_[pos / 8].slot[pos % 8].store(0, std::memory_order_release);
        if (pos / 8 != b[0]) spilled_[b[0]].fetch_sub(1, std::memory_order_release);
    };
    for (;;) {
        bool rescan = false;
        for (unsigned t = 0; t < 2 && !rescan; t++) {
            // Slots with our signature, pending or not. The loads follow our seq_cst claim, so
            // of two racing claims at least one sees the other.
            constexpr uint64_t kSigMask = kMatchMask & ~kPending;
            for (uint32_t bits = match_bits(buckets_[b[t]], word & kSigMask, kSigMask); bits != 0;
                 bits &= bits - 1) {
                const unsigned s = static_cast<unsigned>(__builtin_ctz(bits));
                const uint32_t p = b[t] * 8 + s;
                if (p == pos) continue;
                const uint64_t w = buckets_[b[t]].slot[s].load(std::memory_order_seq_cst);
                if (w == 0 || ((w ^ word) & kSigMask) != 0) continue;
                if (!(entries_[slot_index(w)].key_of(slot_dir(w)) == k)) continue;
                winner = slot_index(w);
                if (!(w & kPending)) {
                    withdraw();
                    return Claim::exists;
                }
                uint64_t now_w = 0;
                if (!wait_for_winner) {
                    withdraw();
                    return Claim::busy;
                }
                if (p < pos) {
                    withdraw();
                    bump(w_[owner_of(entries_[idx])].races_lost);
                    const bool published = wait_for_change(p, w, now_w) && now_w == (w & ~kPending);
                    return published ? Claim::exists : Claim::busy;
                }
                if (!wait_for_change(p, w, now_w)) {
                    withdraw();
                    return Claim::busy;
                }
                rescan = true;
                break;
            }
        }
        if (!rescan) return Claim::claimed;
    }
}

template <class E>
BasicInsertResult<E> FlowTable<E>::insert(unsigned worker, const Init& f, uint32_t now) {
    Worker& w = w_[worker];
    if ((f.orig.proto == net::kProtoTcp && !tcp_can_open(f.tcp_flags)) || f.orig == f.reply) {
        bump(w.invalid);
        return {InsertStatus::invalid};
    }
    if (w.free_top == 0) {
        // Linux's early drop: a full table gives up flows that never got an answer or never
        // finished their handshake (what a spoofed SYN flood leaves), never established ones.
        // They come back after a grace period, so this packet is still refused; its
        // retransmission, and everything after, finds room.
        early_drop(w);
        bump(w.full_entries);
        return {InsertStatus::full};
    }
    const uint32_t idx = w.free_stack[--w.free_top];
    bump(w.live);
    E& e = entries_[idx];
    fill_entry(e, f, now);

    const uint64_t h0 = flow_hash(f.orig);
    const uint64_t h1 = flow_hash(f.reply);
    uint32_t pos0 = 0, pos1 = 0, winner = 0;
    const Claim c0 = claim(f.orig, h0, Dir::orig, idx, true, pos0, winner);
    if (c0 != Claim::claimed) {
        if (c0 == Claim::full) {
            // Never visible to anyone: straight back on the free list.
            w.free_stack[w.free_top++] = idx;
            bump(w.live, -1);
            bump(w.full_buckets);
            return {InsertStatus::full};
        }
        defer_free(w, idx);
        if (c0 == Claim::exists) {
            bump(w.exists);
            return {InsertStatus::exists, &entries_[winner]};
        }
        bump(w.busy);
        return {InsertStatus::busy};
    }
    const Claim c1 = claim(f.reply, h1, Dir::reply, idx, false, pos1, winner);
    if (c1 != Claim::claimed) {
        buckets_[pos0 / 8].slot[pos0 % 8].store(0, std::memory_order_release);
        if (pos0 / 8 != bucket1(h0)) spilled_[bucket1(h0)].fetch_sub(1, std::memory_order_release);
        defer_free(w, idx);
        bump(c1 == Claim::full ? w.full_buckets : w.clash);
        return {c1 == Claim::full ? InsertStatus::full : InsertStatus::clash};
    }
    e.life.store(static_cast<uint8_t>(EntryLife::live), std::memory_order_release);
    // Reply first: once the original key is visible, packets go out and replies come back.
    buckets_[pos1 / 8].slot[pos1 % 8].store(slot_word(h1, Dir::reply, idx), std::memory_order_release);
    buckets_[pos0 / 8].slot[pos0 % 8].store(slot_word(h0, Dir::orig, idx), std::memory_order_release);
    bump(w.inserted);
    return {InsertStatus::inserted, &e};
}

template <class E>
void FlowTable<E>::remove_word(uint64_t hash, uint64_t word) {
    const uint32_t b1 = bucket1(hash);
    for (uint32_t b : {b1, bucket2(hash)})
        for (auto& s : buckets_[b].slot) {
            uint64_t expect = word;
            if (s.load(std::memory_order_relaxed) == word &&
                s.compare_exchange_strong(expect, 0, std::memory_order_acq_rel)) {
                if (b != b1) spilled_[b1].fetch_sub(1, std::memory_order_release);
                return;
            }
        }
}

template <class E>
bool FlowTable<E>::unlink(E& e) {
    uint8_t expect = static_cast<uint8_t>(EntryLife::live);
    if (!e.life.compare_exchange_strong(expect, static_cast<uint8_t>(EntryLife::unlinked),
                                        std::memory_order_acq_rel))
        return false;
    const auto idx = static_cast<uint32_t>(&e - entries_);
    const uint64_t h0 = flow_hash(e.key[0]);
    const uint64_t h1 = flow_hash(e.key[1]);
    remove_word(h0, slot_word(h0, Dir::orig, idx));
    remove_word(h1, slot_word(h1, Dir::reply, idx));
    return true;
}

// This file's members other files call, per family (the class: conntrack_table.cpp).
template InsertResult FlowTable<FlowEntry>::insert(unsigned, const FlowInit&, uint32_t);
template InsertResult6 FlowTable<FlowEntry6>::insert(unsigned, const FlowInit6&, uint32_t);
template bool FlowTable<FlowEntry>::unlink(FlowEntry&);
template bool FlowTable<FlowEntry6>::unlink(FlowEntry6&);

}  // namespace nfgate::ct

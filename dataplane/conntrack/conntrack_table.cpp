// Insert, unlink, ageing and RCU-deferred recycling of the flow table. The lookup side is inline in
// conntrack_table.hpp.
#include "dataplane/conntrack/conntrack_table.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include <immintrin.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/conntrack/backend_registry.hpp"
#include "dataplane/conntrack/snat_ports.hpp"

namespace nfgate::ct {

namespace {

constexpr size_t kHugePage = 2u << 20;

// Anonymous memory aligned on 2 MiB so transparent huge pages can back the buckets and entries
// (random lookups over 100 MB miss the TLB otherwise); touched now so no page fault is left for
// the workers.
void* map_region(size_t bytes, size_t& mapped_len, void*& mapped_base) {
    mapped_len = bytes + kHugePage;
    mapped_base = mmap(nullptr, mapped_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped_base == MAP_FAILED) {
        mapped_base = nullptr;
        return nullptr;
    }
    auto addr = reinterpret_cast<uintptr_t>(mapped_base);
    void* p = reinterpret_cast<void*>((addr + kHugePage - 1) & ~(kHugePage - 1));
    madvise(p, bytes, MADV_HUGEPAGE);
    std::memset(p, 0, bytes);
    return p;
}

void add_words(uint32_t& sum, const void* old_p, const void* new_p, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 2) {
        uint16_t o, n;
        std::memcpy(&o, static_cast<const char*>(old_p) + i, 2);
        std::memcpy(&n, static_cast<const char*>(new_p) + i, 2);
        sum += static_cast<uint16_t>(~o);
        sum += n;
    }
}

// RFC 1624 deltas for rewriting `from` into `to`: addresses for the IP header; addresses and
// ports for TCP/UDP (the pseudo-header covers the addresses); the echo identifier alone for ICMP,
// whose checksum covers no pseudo-header.
void checksum_deltas(const FlowKey& from, const FlowKey& to, uint16_t& ip, uint16_t& l4) {
    uint32_t ip_sum = 0;
    add_words(ip_sum, &from.src_ip, &to.src_ip, 4);
    add_words(ip_sum, &from.dst_ip, &to.dst_ip, 4);
    ip = csum_fold32(ip_sum);
    uint32_t l4_sum = 0;
    if (from.proto == kProtoIcmp) {
        add_words(l4_sum, &from.src_port, &to.src_port, 2);
    } else {
        l4_sum = ip_sum;
        add_words(l4_sum, &from.src_port, &to.src_port, 2);
        add_words(l4_sum, &from.dst_port, &to.dst_port, 2);
    }
    l4 = csum_fold32(l4_sum);
}

// Written only by the owning worker, read by anyone: a plain increment of a relaxed atomic.
inline void bump(std::atomic<uint64_t>& c, int64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + static_cast<uint64_t>(by), std::memory_order_relaxed);
}

constexpr unsigned kSpinsBeforeYield = 64;
constexpr unsigned kWaitRounds = 1u << 12;

}  // namespace

enum class ConntrackTable::Claim : uint8_t { claimed, exists, busy, full };

struct alignas(64) ConntrackTable::Worker {
    uint32_t first = 0;  // partition [first, first + count)
    uint32_t count = 0;
    uint32_t* free_stack = nullptr;
    uint32_t free_top = 0;
    uint32_t* deferred = nullptr;  // ring of `count` entry indexes waiting for a grace period
    uint64_t def_head = 0;         // monotonic positions; index = pos % count
    uint64_t def_tail = 0;
    uint64_t sealed_tail = 0;  // deferred[..sealed_tail) have a checkpoint
    // A checkpoint says: every deferred entry before `end` may be recycled once `token` is
    // reported by all readers. Tokens grow, so merging two checkpoints keeps the later token.
    struct Checkpoint {
        uint64_t end;
        uint64_t token;
    };
    static constexpr unsigned kCheckpoints = 64;
    Checkpoint cps[kCheckpoints];
    unsigned cp_head = 0;
    unsigned cp_count = 0;
    uint32_t cursor = 0;

    std::atomic<uint64_t> inserted{0}, exists{0}, clash{0}, full_entries{0}, full_buckets{0},
        busy{0}, invalid{0}, races_lost{0}, expired{0}, backend_gone{0}, unlinked{0},
        recycled{0}, live{0};
};

const char* insert_status_name(InsertStatus s) {
    switch (s) {
        case InsertStatus::inserted: return "inserted";
        case InsertStatus::exists: return "exists";
        case InsertStatus::clash: return "clash";
        case InsertStatus::full: return "full";
        case InsertStatus::busy: return "busy";
        case InsertStatus::invalid: return "invalid";
    }
    return "?";
}

const char* tcp_state_name(TcpState s) {
    static constexpr const char* kNames[kTcpStateCount] = {
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
        "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE"};
    const auto i = static_cast<unsigned>(s);
    return i < kTcpStateCount ? kNames[i] : "?";
}

std::unique_ptr<ConntrackTable> ConntrackTable::create(const Config& cfg, std::string& err) {
    if (cfg.workers == 0 || cfg.workers > RTE_MAX_LCORE) {
        err = "conntrack: workers = " + std::to_string(cfg.workers) + ": must be 1.." +
              std::to_string(RTE_MAX_LCORE);
        return nullptr;
    }
    if (cfg.max_flows < cfg.workers || cfg.max_flows > (1u << 29)) {
        err = "conntrack: maxFlows = " + std::to_string(cfg.max_flows) + ": must be " +
              std::to_string(cfg.workers) + " (one per worker) .. " + std::to_string(1u << 29);
        return nullptr;
    }
    std::unique_ptr<ConntrackTable> t(new ConntrackTable());
    t->max_flows_ = cfg.max_flows;
    t->workers_ = cfg.workers;
    t->timeouts_ = cfg.timeouts;
    t->snat_ = cfg.snat;
    t->backends_ = cfg.backends;

    // Two keys per flow at <= 60% slot load, and memory under 128 bytes per flow whatever maxFlows
    // is. Without cuckoo moves a key whose two buckets are both full is refused (full_buckets):
    // measured about 1 insert in 1000 with the table filled to maxFlows at 60% load, 1 in 20000 at
    // 50% (maxFlows a power of two).
    uint64_t slots = 8;
    while (slots * 3 < uint64_t{cfg.max_flows} * 2 * 5) slots <<= 1;
    const uint64_t nbuckets = std::max<uint64_t>(slots / 8, 2);
    t->bucket_mask_ = static_cast<uint32_t>(nbuckets - 1);
    t->buckets_bytes_ = nbuckets * sizeof(Bucket);
    t->entries_bytes_ = uint64_t{cfg.max_flows} * sizeof(FlowEntry);
    t->lists_bytes_ = uint64_t{cfg.max_flows} * 2 * sizeof(uint32_t);

    t->spilled_bytes_ = nbuckets;
    for (auto [bytes, region] : {std::pair{t->buckets_bytes_, &t->regions_[0]},
                                 std::pair{t->entries_bytes_, &t->regions_[1]},
                                 std::pair{t->lists_bytes_, &t->regions_[2]},
                                 std::pair{t->spilled_bytes_, &t->regions_[3]}}) {
        region->ptr = map_region(bytes, region->len, region->base);
        if (region->ptr == nullptr) {
            err = "conntrack: cannot map " + std::to_string(bytes >> 20) + " MiB for maxFlows = " +
                  std::to_string(cfg.max_flows) + ": lower conntrack.maxFlows";
            return nullptr;
        }
    }
    t->buckets_ = static_cast<Bucket*>(t->regions_[0].ptr);
    t->entries_ = static_cast<FlowEntry*>(t->regions_[1].ptr);
    t->spilled_ = static_cast<std::atomic<uint8_t>*>(t->regions_[3].ptr);
    std::uninitialized_default_construct_n(t->buckets_, nbuckets);
    for (uint64_t b = 0; b < nbuckets; b++) new (&t->spilled_[b]) std::atomic<uint8_t>(0);
    std::uninitialized_default_construct_n(t->entries_, cfg.max_flows);
    for (uint64_t b = 0; b < nbuckets; b++)
        for (auto& s : t->buckets_[b].slot) s.store(0, std::memory_order_relaxed);

    t->partition_ = cfg.max_flows / cfg.workers;
    t->w_ = new Worker[cfg.workers];
    auto* lists = static_cast<uint32_t*>(t->regions_[2].ptr);
    for (unsigned i = 0; i < cfg.workers; i++) {
        Worker& w = t->w_[i];
        w.first = i * t->partition_;
        w.count = (i + 1 == cfg.workers) ? cfg.max_flows - w.first : t->partition_;
        w.free_stack = lists + 2 * uint64_t{w.first};
        w.deferred = w.free_stack + w.count;
        // Popped from the top: the lowest indexes go first, so a small table stays compact.
        for (uint32_t k = 0; k < w.count; k++) w.free_stack[k] = w.first + w.count - 1 - k;
        w.free_top = w.count;
    }

    if (cfg.qsbr != nullptr) {
        t->qsbr_ = cfg.qsbr;
    } else {
        const size_t sz = rte_rcu_qsbr_get_memsize(cfg.workers);
        t->own_qsbr_ = std::aligned_alloc(RTE_CACHE_LINE_SIZE, (sz + RTE_CACHE_LINE_SIZE - 1) &
                                                                   ~size_t{RTE_CACHE_LINE_SIZE - 1});
        t->qsbr_ = static_cast<rte_rcu_qsbr*>(t->own_qsbr_);
        if (t->qsbr_ == nullptr || rte_rcu_qsbr_init(t->qsbr_, cfg.workers) != 0) {
            err = "conntrack: cannot initialise the RCU (QSBR) variable for " +
                  std::to_string(cfg.workers) + " workers";
            return nullptr;
        }
        for (unsigned i = 0; i < cfg.workers; i++) {
            rte_rcu_qsbr_thread_register(t->qsbr_, i);
            rte_rcu_qsbr_thread_online(t->qsbr_, i);
        }
    }
    return t;
}

ConntrackTable::~ConntrackTable() {
    delete[] w_;
    for (auto& r : regions_)
        if (r.base != nullptr) munmap(r.base, r.len);
    std::free(own_qsbr_);
}

void ConntrackTable::quiescent(unsigned worker) const { rte_rcu_qsbr_quiescent(qsbr_, worker); }
void ConntrackTable::offline(unsigned worker) const { rte_rcu_qsbr_thread_offline(qsbr_, worker); }
void ConntrackTable::online(unsigned worker) const { rte_rcu_qsbr_thread_online(qsbr_, worker); }

unsigned ConntrackTable::owner_of(const FlowEntry& e) const {
    const auto idx = static_cast<uint32_t>(&e - entries_);
    return std::min<unsigned>(idx / partition_, workers_ - 1);
}

size_t ConntrackTable::memory_bytes() const {
    return buckets_bytes_ + entries_bytes_ + lists_bytes_ + spilled_bytes_ + workers_ * sizeof(Worker);
}

uint32_t ConntrackTable::timeout_of(const FlowEntry& e) const {
    switch (e.proto()) {
        case kProtoTcp: {
            const unsigned s = e.state.load(std::memory_order_relaxed);
            return timeouts_.tcp[s < kTcpStateCount ? s : 0];
        }
        case kProtoUdp: return e.seen_reply() ? timeouts_.udp_assured : timeouts_.udp_unreplied;
        case kProtoIcmp: return timeouts_.icmp;
        default: return timeouts_.other;
    }
}

bool ConntrackTable::expired(const FlowEntry& e, uint32_t now) const {
    // Signed: another worker may have stamped last_seen with a clock a tick ahead of ours.
    const auto idle = static_cast<int32_t>(now - e.last_seen.load(std::memory_order_relaxed));
    if (idle > static_cast<int32_t>(timeout_of(e))) return true;
    return e.proto() == kProtoUdp && backends_ != nullptr && !backends_->alive(e.backend_id);
}

// ---- insert ----

void ConntrackTable::fill_entry(FlowEntry& e, const FlowInit& f, uint32_t now) const {
    e.key[0] = f.orig;
    e.key[1] = f.reply;
    e.last_seen.store(now, std::memory_order_relaxed);
    const uint8_t st = f.orig.proto == kProtoTcp
                           ? static_cast<uint8_t>(tcp_step(TcpState::none, Dir::orig, f.tcp_flags).next)
                           : 0;
    e.state.store(st, std::memory_order_relaxed);
    e.flags.store(0, std::memory_order_relaxed);
    e.backend_id = f.backend_id;
    e.tag = f.tag;
    e.snat_pool = f.snat_pool;
    e.snat_port = f.snat_port;
    e.created = now;
    checksum_deltas(e.key[0], e.translated(Dir::orig), e.ip_csum_delta[0], e.l4_csum_delta[0]);
    checksum_deltas(e.key[1], e.translated(Dir::reply), e.ip_csum_delta[1], e.l4_csum_delta[1]);
}

bool ConntrackTable::wait_for_change(uint32_t pos, uint64_t w, uint64_t& now_w) const {
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
ConntrackTable::Claim ConntrackTable::claim(const FlowKey& k, uint64_t hash, Dir d, uint32_t idx,
                                            bool wait_for_winner, uint32_t& pos, uint32_t& winner) {
    const uint64_t word = slot_word(hash, d, idx);
    const uint32_t b[2] = {bucket1(hash), bucket2(hash)};
    auto free_slot = [&](uint32_t bucket) {
        for (unsigned s = 0; s < 8; s++)
            if (buckets_[bucket].slot[s].load(std::memory_order_relaxed) == 0) return static_cast<int>(s);
        return -1;
    };
    for (;;) {
        // First bucket first: lookups read the second one only for spilled keys.
        unsigned t = 0;
        int s = free_slot(b[0]);
        if (s < 0) {
            t = 1;
            s = free_slot(b[1]);
            if (s < 0 || spilled_[b[0]].load(std::memory_order_relaxed) == 0xff) return Claim::full;
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
            for (unsigned s = 0; s < 8; s++) {
                const uint32_t p = b[t] * 8 + s;
                if (p == pos) continue;
                const uint64_t w = buckets_[b[t]].slot[s].load(std::memory_order_seq_cst);
                if (w == 0 || ((w ^ word) & kMatchMask & ~kPending) != 0) continue;
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

InsertResult ConntrackTable::insert(unsigned worker, const FlowInit& f, uint32_t now) {
    Worker& w = w_[worker];
    if ((f.orig.proto == kProtoTcp && !tcp_can_open(f.tcp_flags)) || f.orig == f.reply) {
        bump(w.invalid);
        return {InsertStatus::invalid};
    }
    if (w.free_top == 0) {
        bump(w.full_entries);
        return {InsertStatus::full};
    }
    const uint32_t idx = w.free_stack[--w.free_top];
    bump(w.live);
    FlowEntry& e = entries_[idx];
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

// ---- unlink, ageing, recycling ----

void ConntrackTable::remove_word(uint64_t hash, uint64_t word) {
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

bool ConntrackTable::unlink(FlowEntry& e) {
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

// An entry whose pending claim other inserts may have seen (and read the key of): it waits for
// a grace period like any unlinked one. Its SNAT port stays with the caller, who still owns it.
void ConntrackTable::defer_free(Worker& w, uint32_t idx) {
    FlowEntry& e = entries_[idx];
    e.snat_pool = kNoSnat;
    e.life.store(static_cast<uint8_t>(EntryLife::queued), std::memory_order_relaxed);
    w.deferred[w.def_tail++ % w.count] = idx;
    seal_deferred(w);
}

void ConntrackTable::seal_deferred(Worker& w) {
    if (w.sealed_tail == w.def_tail) return;
    const uint64_t token = rte_rcu_qsbr_start(qsbr_);
    if (w.cp_count == Worker::kCheckpoints) {
        auto& last = w.cps[(w.cp_head + w.cp_count - 1) % Worker::kCheckpoints];
        last = {w.def_tail, token};
    } else {
        w.cps[(w.cp_head + w.cp_count++) % Worker::kCheckpoints] = {w.def_tail, token};
    }
    w.sealed_tail = w.def_tail;
}

// rte_rcu_qsbr_check(v, token, false) without its acked_token shortcut: DPDK reads that cache
// with a plain load while another checker stores it, a data race by the C++ memory model
// (harmless on x86, but ThreadSanitizer rightly reports it). Reading the per-reader counters with
// acquire loads is the same test: every reader is offline (0) or has reported `token` or later.
bool ConntrackTable::grace_period_over(uint64_t token) const {
    for (uint32_t i = 0; i < qsbr_->max_threads; i++) {
        const uint64_t c = __atomic_load_n(&qsbr_->qsbr_cnt[i].cnt, __ATOMIC_ACQUIRE);
        if (c != 0 && c < token) return false;
    }
    return true;
}

void ConntrackTable::recycle_ready(Worker& w) {
    const auto worker = static_cast<unsigned>(&w - w_);
    while (w.cp_count > 0) {
        const auto& cp = w.cps[w.cp_head];
        if (!grace_period_over(cp.token)) return;
        for (; w.def_head < cp.end; w.def_head++) {
            const uint32_t idx = w.deferred[w.def_head % w.count];
            FlowEntry& e = entries_[idx];
            if (snat_ != nullptr && e.snat_pool != kNoSnat)
                snat_->release(worker, e.snat_pool, e.proto(), e.snat_port);
            e.life.store(static_cast<uint8_t>(EntryLife::free), std::memory_order_relaxed);
            w.free_stack[w.free_top++] = idx;
            bump(w.recycled);
            bump(w.live, -1);
        }
        w.cp_head = (w.cp_head + 1) % Worker::kCheckpoints;
        w.cp_count--;
    }
}

unsigned ConntrackTable::age(unsigned worker, uint32_t now, unsigned budget) {
    Worker& w = w_[worker];
    recycle_ready(w);
    unsigned unlinked_now = 0;
    budget = std::min(budget, w.count);
    for (unsigned i = 0; i < budget; i++) {
        const uint32_t idx = w.first + w.cursor;
        if (++w.cursor == w.count) w.cursor = 0;
        FlowEntry& e = entries_[idx];
        auto life = static_cast<EntryLife>(e.life.load(std::memory_order_acquire));
        if (life == EntryLife::live) {
            if (!expired(e, now)) continue;
            const bool timed_out = static_cast<int32_t>(now - e.last_seen.load(std::memory_order_relaxed)) >
                                   static_cast<int32_t>(timeout_of(e));
            if (unlink(e)) {
                bump(timed_out ? w.expired : w.backend_gone);
                unlinked_now++;
            } else {
                bump(w.unlinked);
            }
        } else if (life == EntryLife::unlinked) {
            bump(w.unlinked);
        } else {
            continue;
        }
        e.life.store(static_cast<uint8_t>(EntryLife::queued), std::memory_order_relaxed);
        w.deferred[w.def_tail++ % w.count] = idx;
    }
    seal_deferred(w);
    return unlinked_now;
}

ConntrackStats ConntrackTable::worker_stats(unsigned worker) const {
    const Worker& w = w_[worker];
    auto g = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    ConntrackStats s;
    s.inserted = g(w.inserted);
    s.exists = g(w.exists);
    s.clash = g(w.clash);
    s.full_entries = g(w.full_entries);
    s.full_buckets = g(w.full_buckets);
    s.busy = g(w.busy);
    s.invalid = g(w.invalid);
    s.races_lost = g(w.races_lost);
    s.expired = g(w.expired);
    s.backend_gone = g(w.backend_gone);
    s.unlinked = g(w.unlinked);
    s.recycled = g(w.recycled);
    s.live = g(w.live);
    return s;
}

ConntrackStats ConntrackTable::stats() const {
    ConntrackStats sum;
    for (unsigned i = 0; i < workers_; i++) {
        const ConntrackStats s = worker_stats(i);
        sum.inserted += s.inserted;
        sum.exists += s.exists;
        sum.clash += s.clash;
        sum.full_entries += s.full_entries;
        sum.full_buckets += s.full_buckets;
        sum.busy += s.busy;
        sum.invalid += s.invalid;
        sum.races_lost += s.races_lost;
        sum.expired += s.expired;
        sum.backend_gone += s.backend_gone;
        sum.unlinked += s.unlinked;
        sum.recycled += s.recycled;
        sum.live += s.live;
    }
    return sum;
}

}  // namespace nfgate::ct

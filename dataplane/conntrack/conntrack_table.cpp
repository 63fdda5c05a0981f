// Flow table set-up (preallocated memory, QSBR), timeouts and counters. Inserting and unlinking
// live in conntrack_insert.cpp, ageing and recycling in conntrack_ageing.cpp, lookups inline in
// conntrack_table.hpp.
#include "dataplane/conntrack/conntrack_table.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <rte_rcu_qsbr.h>

#include "dataplane/conntrack/conntrack_worker.hpp"

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

}  // namespace

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

template <class E>
std::unique_ptr<FlowTable<E>> FlowTable<E>::create(const Config& cfg, std::string& err) {
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
    std::unique_ptr<FlowTable> t(new FlowTable());
    t->max_flows_ = cfg.max_flows;
    t->workers_ = cfg.workers;
    t->timeouts_ = cfg.timeouts;
    t->snat_ = cfg.snat;

    // Two keys per flow at <= 60% slot load, and memory under 128 bytes per flow whatever maxFlows
    // is. Without cuckoo moves a key whose two buckets are both full is refused (full_buckets):
    // measured 1 insert in 1.26 million with the table filled to maxFlows at 60% load, none in
    // 1 million at 50% (maxFlows a power of two).
    uint64_t slots = 8;
    while (slots * 3 < uint64_t{cfg.max_flows} * 2 * 5) slots <<= 1;
    const uint64_t nbuckets = std::max<uint64_t>(slots / 8, 2);
    t->bucket_mask_ = static_cast<uint32_t>(nbuckets - 1);
    t->buckets_bytes_ = nbuckets * sizeof(Bucket);
    t->entries_bytes_ = uint64_t{cfg.max_flows} * sizeof(E);
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
    t->entries_ = static_cast<E*>(t->regions_[1].ptr);
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

template <class E>
FlowTable<E>::~FlowTable() {
    delete[] w_;
    for (auto& r : regions_)
        if (r.base != nullptr) munmap(r.base, r.len);
    std::free(own_qsbr_);
}

template <class E>
void FlowTable<E>::quiescent(unsigned worker) const { rte_rcu_qsbr_quiescent(qsbr_, worker); }
template <class E>
void FlowTable<E>::offline(unsigned worker) const { rte_rcu_qsbr_thread_offline(qsbr_, worker); }
template <class E>
void FlowTable<E>::online(unsigned worker) const { rte_rcu_qsbr_thread_online(qsbr_, worker); }

template <class E>
unsigned FlowTable<E>::owner_of(const E& e) const {
    const auto idx = static_cast<uint32_t>(&e - entries_);
    return std::min<unsigned>(idx / partition_, workers_ - 1);
}

template <class E>
size_t FlowTable<E>::memory_bytes() const {
    return buckets_bytes_ + entries_bytes_ + lists_bytes_ + spilled_bytes_ + workers_ * sizeof(Worker);
}

template <class E>
uint64_t FlowTable<E>::spilled_keys() const {
    uint64_t n = 0;
    for (uint64_t b = 0; b <= bucket_mask_; b++) n += spilled_[b].load(std::memory_order_relaxed);
    return n;
}

template <class E>
uint32_t FlowTable<E>::timeout_of(const E& e) const {
    switch (e.proto()) {
        case net::kProtoTcp: {
            const unsigned s = e.state.load(std::memory_order_relaxed);
            return timeouts_.tcp[s < kTcpStateCount ? s : 0];
        }
        case net::kProtoUdp: return e.seen_reply() ? timeouts_.udp_assured : timeouts_.udp_unreplied;
        case net::kProtoIcmp:
        case net::kProtoIcmpv6: return timeouts_.icmp;  // nf_conntrack_icmpv6_timeout is 30 s too
        default: return timeouts_.other;
    }
}

template <class E>
bool FlowTable<E>::expired(const E& e, uint32_t now) const {
    // Signed: another worker may have stamped last_seen with a clock a tick ahead of ours.
    const auto idle = static_cast<int32_t>(now - e.last_seen.load(std::memory_order_relaxed));
    return idle > static_cast<int32_t>(timeout_of(e));
}

template <class E>
ConntrackStats FlowTable<E>::worker_stats(unsigned worker) const {
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
    s.unlinked = g(w.unlinked);
    s.recycled = g(w.recycled);
    s.live = g(w.live);
    s.early_dropped = g(w.early_dropped);
    s.half_open = g(w.half_open);
    return s;
}

template <class E>
ConntrackStats FlowTable<E>::stats() const {
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
        sum.unlinked += s.unlinked;
        sum.recycled += s.recycled;
        sum.live += s.live;
        sum.early_dropped += s.early_dropped;
        sum.half_open += s.half_open;
    }
    return sum;
}

// One instantiation per family; the members of conntrack_insert.cpp and conntrack_ageing.cpp
// are instantiated there.
template class FlowTable<FlowEntry>;
template class FlowTable<FlowEntry6>;

}  // namespace nfgate::ct

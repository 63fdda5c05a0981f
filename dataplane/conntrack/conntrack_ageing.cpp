// Incremental ageing of a worker's partition and RCU-deferred recycling of unlinked entries.
#include <algorithm>

#include <rte_rcu_qsbr.h>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/conntrack/conntrack_worker.hpp"
#include "dataplane/conntrack/snat_ports.hpp"

namespace nfgate::ct {

// An entry whose pending claim other inserts may have seen (and read the key of): it waits for
// a grace period like any unlinked one. Its SNAT port stays with the caller, who still owns it.
template <class E>
void FlowTable<E>::defer_free(Worker& w, uint32_t idx) {
    E& e = entries_[idx];
    e.snat_pool = kNoSnat;
    e.life.store(static_cast<uint8_t>(EntryLife::queued), std::memory_order_relaxed);
    w.deferred[w.def_tail++ % w.count] = idx;
    seal_deferred(w);
}

template <class E>
void FlowTable<E>::seal_deferred(Worker& w) {
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
template <class E>
bool FlowTable<E>::grace_period_over(uint64_t token) const {
    for (uint32_t i = 0; i < qsbr_->max_threads; i++) {
        const uint64_t c = __atomic_load_n(&qsbr_->qsbr_cnt[i].cnt, __ATOMIC_ACQUIRE);
        if (c != 0 && c < token) return false;
    }
    return true;
}

template <class E>
void FlowTable<E>::recycle_ready(Worker& w) {
    const auto worker = static_cast<unsigned>(&w - w_);
    while (w.cp_count > 0) {
        const auto& cp = w.cps[w.cp_head];
        if (!grace_period_over(cp.token)) return;
        for (; w.def_head < cp.end; w.def_head++) {
            const uint32_t idx = w.deferred[w.def_head % w.count];
            E& e = entries_[idx];
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

namespace {

// A TCP connection whose handshake has not completed (what a SYN flood leaves behind). Other
// protocols keep TcpState::none, so the state alone tells: one load and one compare per entry.
static_assert(uint8_t(TcpState::syn_recv) == uint8_t(TcpState::syn_sent) + 1);
template <class E>
inline unsigned half_open_tcp(const E& e) {
    return static_cast<uint8_t>(e.state.load(std::memory_order_relaxed) - uint8_t(TcpState::syn_sent)) < 2 ? 1 : 0;
}

}  // namespace

// The sweep over the partition came round: publish the half-open count of the pass.
template <class E>
void FlowTable<E>::sweep_wrapped(Worker& w) {
    w.cursor = 0;
    w.half_open.store(w.sweep_half_open, std::memory_order_relaxed);
    w.sweep_half_open = 0;
}

template <class E>
unsigned FlowTable<E>::age(unsigned worker, uint32_t now, unsigned budget) {
    Worker& w = w_[worker];
    recycle_ready(w);
    unsigned unlinked_now = 0;
    budget = std::min(budget, w.count);
    for (unsigned i = 0; i < budget; i++) {
        const uint32_t idx = w.first + w.cursor;
        if (++w.cursor == w.count) [[unlikely]] sweep_wrapped(w);
        E& e = entries_[idx];
        auto life = static_cast<EntryLife>(e.life.load(std::memory_order_acquire));
        if (life == EntryLife::live) {
            if (!expired(e, now)) {
                w.sweep_half_open += half_open_tcp(e);
                continue;
            }
            if (unlink(e)) {
                bump(w.expired);
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

namespace {

// A flow without an answer (UDP, ICMP) or a TCP connection that never reached ESTABLISHED.
template <class E>
bool unassured(const E& e) {
    if (e.proto() == net::kProtoTcp) {
        // A connection picked up mid-stream is ESTABLISHED from its first ACK; until the other
        // side answers, it is as unproven as a SYN (a spoofed ACK flood must not pin the table).
        const TcpState st = e.tcp_state();
        return st == TcpState::syn_sent || st == TcpState::syn_recv || (st == TcpState::established && !e.seen_reply());
    }
    return !e.seen_reply();
}

// Examined per full-table insert, and freed at most per call: bounded work on the packet path.
constexpr unsigned kEarlyDropScan = 128;
constexpr unsigned kEarlyDropWant = 16;

}  // namespace

template <class E>
unsigned FlowTable<E>::early_drop(Worker& w) {
    unsigned dropped = 0;
    for (unsigned i = 0; i < kEarlyDropScan && dropped < kEarlyDropWant; i++) {
        const uint32_t idx = w.first + w.cursor;
        if (++w.cursor == w.count) [[unlikely]] sweep_wrapped(w);
        E& e = entries_[idx];
        if (static_cast<EntryLife>(e.life.load(std::memory_order_acquire)) != EntryLife::live) continue;
        w.sweep_half_open += half_open_tcp(e);  // dropped or not, the sweep saw it
        if (!unassured(e) || !unlink(e)) continue;  // unlink false: another worker took it out and queues it
        bump(w.early_dropped);
        e.life.store(static_cast<uint8_t>(EntryLife::queued), std::memory_order_relaxed);
        w.deferred[w.def_tail++ % w.count] = idx;
        dropped++;
    }
    seal_deferred(w);
    return dropped;
}

// This file's members other files call, per family (the class: conntrack_table.cpp).
template unsigned FlowTable<FlowEntry>::age(unsigned, uint32_t, unsigned);
template unsigned FlowTable<FlowEntry6>::age(unsigned, uint32_t, unsigned);
template void FlowTable<FlowEntry>::defer_free(ConntrackWorker&, uint32_t);
template void FlowTable<FlowEntry6>::defer_free(ConntrackWorker&, uint32_t);
template unsigned FlowTable<FlowEntry>::early_drop(ConntrackWorker&);
template unsigned FlowTable<FlowEntry6>::early_drop(ConntrackWorker&);

}  // namespace nfgate::ct

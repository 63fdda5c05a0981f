// Control -> dataplane hand-over: an immutable snapshot published by pointer swap, the old one
// freed only after every worker has reported a quiescent state (rte_rcu_qsbr), so a worker
// never sees a snapshot disappear between two of its loop iterations. Publishing does not wait
// for that: old snapshots are freed by later publishes (or reclaim()) once no worker holds them.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>

#include <rte_rcu_qsbr.h>

namespace nfgate::port {

// Blocks until every reader online on `qsv` now has passed a quiescent state. Called off the
// worker cores only (the caller is not a registered reader).
void rcu_synchronize(rte_rcu_qsbr* qsv);

// One QSBR variable with a reader slot per worker, for users that do not get one from the
// engine. Workers register their index, go online, report quiescent once per loop and go
// offline before they exit.
class QsbrDomain {
public:
    QsbrDomain() = default;
    QsbrDomain(const QsbrDomain&) = delete;
    QsbrDomain& operator=(const QsbrDomain&) = delete;
    ~QsbrDomain();

    bool init(unsigned max_readers, std::string& err);
    rte_rcu_qsbr* get() const { return qsv_; }

private:
    rte_rcu_qsbr* qsv_ = nullptr;
};

template <class T>
class RcuSnapshot {
public:
    explicit RcuSnapshot(rte_rcu_qsbr* qsv) : qsv_(qsv) {}
    RcuSnapshot(const RcuSnapshot&) = delete;
    RcuSnapshot& operator=(const RcuSnapshot&) = delete;
    // The workers are gone by now (they are stopped before their snapshots).
    ~RcuSnapshot() {
        for (const Retired& r : retired_) delete r.snapshot;
        delete current_.load(std::memory_order_acquire);
    }

    // Workers load this (acquire) at most once per loop turn and drop what they loaded before
    // their next quiescent report.
    const std::atomic<const T*>& pointer() const { return current_; }
    const T* current() const { return current_.load(std::memory_order_acquire); }

    // Swaps `next` in: live for the workers' next loop turn. The previous snapshot is freed
    // once every worker has passed a quiescent state since, at a later publish() or reclaim():
    // the caller does not wait for a grace period.
    void publish(std::unique_ptr<T> next) {
        const T* old = current_.exchange(next.release(), std::memory_order_acq_rel);
        if (old != nullptr) retired_.push_back(Retired{rte_rcu_qsbr_start(qsv_), old});
        reclaim(false);
    }

    // Frees the retired snapshots no worker can still hold; with `wait`, waits for all of them.
    void reclaim(bool wait) {
        while (!retired_.empty() && rte_rcu_qsbr_check(qsv_, retired_.front().token, wait) == 1) {
            delete retired_.front().snapshot;
            retired_.pop_front();
        }
    }
    size_t retired() const { return retired_.size(); }

private:
    struct Retired {
        uint64_t token;  // rte_rcu_qsbr_start() when it was swapped out
        const T* snapshot;
    };
    rte_rcu_qsbr* qsv_;
    std::atomic<const T*> current_{nullptr};
    std::deque<Retired> retired_;
};

}  // namespace nfgate::port

// Control -> dataplane hand-over: an immutable snapshot published by pointer swap, the old one
// freed only after every worker has reported a quiescent state (rte_rcu_qsbr), so a worker
// never sees a snapshot disappear between two of its loop iterations.
#pragma once

#include <atomic>
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
    ~RcuSnapshot() { delete current_.load(std::memory_order_acquire); }

    // Workers load this (acquire) at most once per loop turn and drop what they loaded before
    // their next quiescent report.
    const std::atomic<const T*>& pointer() const { return current_; }
    const T* current() const { return current_.load(std::memory_order_acquire); }

    // Swaps `next` in, waits a grace period and frees the previous snapshot.
    void publish(std::unique_ptr<T> next) {
        const T* old = current_.exchange(next.release(), std::memory_order_acq_rel);
        if (old == nullptr) return;
        rcu_synchronize(qsv_);
        delete old;
    }

private:
    rte_rcu_qsbr* qsv_;
    std::atomic<const T*> current_{nullptr};
};

}  // namespace nfgate::port

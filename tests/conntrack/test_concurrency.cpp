// Two workers on one table at the same time, checked against a model. Runs under ThreadSanitizer
// too (nfgate.sh test), where the durations are shorter.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr auto kRunFor = std::chrono::milliseconds(1500);
constexpr uint64_t kMinOps = 3000;
constexpr uint32_t kKeysPerWorker = 600;
constexpr uint32_t kRaceKeys = 3000;
#else
constexpr auto kRunFor = std::chrono::milliseconds(3000);
constexpr uint64_t kMinOps = 30000;
constexpr uint32_t kKeysPerWorker = 5000;
constexpr uint32_t kRaceKeys = 50000;
#endif

template <class K>
test::DnatFlowOf<K> worker_flow(unsigned w, uint32_t i) {
    return test::dnat_flow<K>(w * 1000000u + i, net::kProtoUdp);
}

struct WorkerReport {
    uint64_t ops = 0;
    std::atomic<uint64_t> progress{0};  // ops, published once per loop turn for the main thread
    uint64_t foreign_hits = 0;
    uint64_t errors = 0;
    uint64_t unlinks = 0;
    uint64_t full = 0;
    unsigned first_error_line = 0;
    std::vector<bool> present;
};

// One worker: inserts, looks up and unlinks its own keys (it knows exactly which are present),
// and looks up the other worker's keys, which may or may not be there but must never resolve to
// a flow with a different key.
template <class T>
void run_worker(T& t, unsigned w, const std::atomic<bool>& stop, WorkerReport& rep) {
    using Key = typename T::Key;
    std::mt19937 rng(1234 + w);
    rep.present.assign(kKeysPerWorker, false);
    // A macro, not std::source_location: clang 14 (the sanitizer build) lacks it with libstdc++ 12.
    auto check_at = [&](bool ok, int line) {
        if (ok) return;
        if (rep.errors++ == 0) rep.first_error_line = line;
    };
#define check(ok) check_at((ok), __LINE__)
    while (!stop.load(std::memory_order_relaxed)) {
        for (int op = 0; op < 32; op++, rep.ops++) {
            const uint32_t i = rng() % kKeysPerWorker;
            const auto f = worker_flow<Key>(w, i);
            const auto o = t.lookup(f.orig);
            if (rep.present[i]) {
                const auto r = t.lookup(f.reply);
                check(o && r && o.entry == r.entry && o.dir == Dir::orig && r.dir == Dir::reply &&
                      o.entry->key_of(Dir::orig) == f.orig);
                if (rng() % 3 == 0) {
                    check(o && t.unlink(*o.entry));
                    rep.unlinks++;
                    rep.present[i] = false;
                }
            } else {
                check(!o);
                const auto ins = t.insert(w, typename T::Init{f.orig, f.reply}, 0);
                // Full is legitimate: unlinked entries wait for the other worker's quiescent
                // report, and on a loaded machine that worker may be descheduled for a while.
                check(ins.status == InsertStatus::inserted || ins.status == InsertStatus::full);
                rep.full += ins.status == InsertStatus::full;
                rep.present[i] = ins.status == InsertStatus::inserted;
                // A full partition also gives up unassured flows (early drop), ours among them:
                // the model learns which went.
                if (ins.status == InsertStatus::full)
                    for (uint32_t k = 0; k < kKeysPerWorker; ++k)
                        if (rep.present[k] && !t.lookup(worker_flow<Key>(w, k).orig)) rep.present[k] = false;
            }
            const auto g = worker_flow<Key>(1 - w, rng() % kKeysPerWorker);
            const Key& k = rng() % 2 ? g.orig : g.reply;
            const auto x = t.lookup(k);
            if (x) {
                rep.foreign_hits++;
                check(x.entry->key_of(x.dir) == k);
            }
        }
        Key keys[32];
        typename T::Ref out[32];
        std::vector<uint32_t> idx(32);
        for (unsigned j = 0; j < 32; j++) {
            idx[j] = rng() % kKeysPerWorker;
            keys[j] = j % 2 ? worker_flow<Key>(w, idx[j]).reply : worker_flow<Key>(1 - w, idx[j]).orig;
        }
        const uint64_t hits = t.lookup_bulk(keys, 32, out);
        for (unsigned j = 0; j < 32; j++) {
            const bool hit = (hits >> j) & 1;
            check(hit == bool(out[j]));
            if (out[j]) check(out[j].entry->key_of(out[j].dir) == keys[j]);
            if (j % 2) check(hit == rep.present[idx[j]]);
        }
        t.age(w, 0, 64);
        t.quiescent(w);
        rep.progress.store(rep.ops, std::memory_order_relaxed);
    }
    t.offline(w);
}
#undef check

template <class T>
class FlowConcurrencyTest : public ::testing::Test {};
TYPED_TEST_SUITE(FlowConcurrencyTest, test::Families, test::FamilyName);

TYPED_TEST(FlowConcurrencyTest, TwoWorkersAgreeWithTheModel) {
    using Key = typename TypeParam::Key;
    auto t = test::make_table<TypeParam>(8 * kKeysPerWorker, 2);
    std::atomic<bool> stop{false};
    WorkerReport rep[2];
    std::thread a(run_worker<TypeParam>, std::ref(*t), 0u, std::cref(stop), std::ref(rep[0]));
    std::thread b(run_worker<TypeParam>, std::ref(*t), 1u, std::cref(stop), std::ref(rep[1]));
    // At least kRunFor and kMinOps each: a loaded machine (or ThreadSanitizer) takes longer.
    std::this_thread::sleep_for(kRunFor);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((rep[0].progress.load() < kMinOps || rep[1].progress.load() < kMinOps) &&
           std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stop = true;
    a.join();
    b.join();
    for (unsigned w = 0; w < 2; w++) {
        EXPECT_EQ(rep[w].errors, 0u) << "worker " << w << ", first failed check on line "
                                     << rep[w].first_error_line;
        EXPECT_GE(rep[w].ops, kMinOps) << "worker " << w;
        // How often "full" is seen depends on how long the other worker is descheduled; that
        // entries came back at all does not.
        EXPECT_GT(t->worker_stats(w).recycled, 0u) << "worker " << w;
        EXPECT_GT(rep[w].foreign_hits, 0u) << "worker " << w << " never saw the other's flows";
        uint32_t live = 0;
        for (uint32_t i = 0; i < kKeysPerWorker; i++) {
            const auto f = worker_flow<Key>(w, i);
            const auto o = t->lookup(f.orig);
            const auto r = t->lookup(f.reply);
            ASSERT_EQ(bool(o), bool(rep[w].present[i])) << "worker " << w << " key " << i;
            ASSERT_EQ(bool(r), bool(rep[w].present[i])) << "worker " << w << " key " << i;
            if (o) {
                ASSERT_EQ(o.entry, r.entry);
            }
            live += rep[w].present[i];
        }
        const auto st = t->worker_stats(w);
        EXPECT_EQ(st.inserted - rep[w].unlinks - st.early_dropped, live) << "worker " << w;
    }
}

template <class E>
struct RaceResult {
    InsertStatus status = InsertStatus::invalid;
    E* entry = nullptr;
};

// Both workers insert the same flows in the same order at the same time: every flow must end up
// linked once, and a worker told "exists" must be handed the flow that is linked.
TYPED_TEST(FlowConcurrencyTest, RacingInsertsOfTheSameFlowHaveOneWinner) {
    using Key = typename TypeParam::Key;
    auto t = test::make_table<TypeParam>(4 * kRaceKeys, 2);
    std::vector<RaceResult<typename TypeParam::Entry>> res[2];
    std::atomic<int> ready{0};
    auto racer = [&](unsigned w) {
        res[w].resize(kRaceKeys);
        ready.fetch_add(1);
        while (ready.load() < 2) std::this_thread::yield();
        for (uint32_t i = 0; i < kRaceKeys; i++) {
            // Meet every 128 flows so neither worker runs ahead and only finds linked flows.
            if (i % 128 == 0) {
                const int target = 2 * static_cast<int>(i / 128 + 1) + 2;
                ready.fetch_add(1);
                for (unsigned spin = 0; ready.load() < target; spin++)
                    if (spin > 10000) std::this_thread::yield();
            }
            const auto f = test::dnat_flow<Key>(i, net::kProtoUdp);
            const auto r = t->insert(w, typename TypeParam::Init{f.orig, f.reply}, 0);
            res[w][i] = {r.status, r.entry};
        }
        t->offline(w);
    };
    std::thread a(racer, 0u), b(racer, 1u);
    a.join();
    b.join();
    uint32_t linked = 0;
    for (uint32_t i = 0; i < kRaceKeys; i++) {
        const auto f = test::dnat_flow<Key>(i, net::kProtoUdp);
        const auto o = t->lookup(f.orig);
        const auto r = t->lookup(f.reply);
        const int winners = (res[0][i].status == InsertStatus::inserted) + (res[1][i].status == InsertStatus::inserted);
        ASSERT_LE(winners, 1) << "flow " << i << " inserted twice";
        ASSERT_EQ(bool(o), winners == 1) << "flow " << i;
        ASSERT_EQ(o.entry, r.entry) << "flow " << i;
        for (const auto* rr : {&res[0][i], &res[1][i]}) {
            if (rr->status == InsertStatus::inserted || rr->status == InsertStatus::exists)
                ASSERT_EQ(rr->entry, o.entry) << "flow " << i << " " << insert_status_name(rr->status);
            else
                ASSERT_EQ(rr->status, InsertStatus::busy) << "flow " << i;
        }
        linked += winners;
    }
    const ConntrackStats s = t->stats();
    EXPECT_EQ(s.inserted, linked);
    EXPECT_EQ(s.inserted + s.exists + s.busy, 2u * kRaceKeys);
    std::printf("racing inserts: %lu inserted, %lu exists, %lu busy, %lu claims withdrawn for a pending winner\n",
                static_cast<unsigned long>(s.inserted), static_cast<unsigned long>(s.exists),
                static_cast<unsigned long>(s.busy), static_cast<unsigned long>(s.races_lost));
}

}  // namespace
}  // namespace nfgate::ct

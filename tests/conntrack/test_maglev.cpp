// Maglev: table size, even spread, minimal disruption, independence from backend order.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "dataplane/lb/maglev.hpp"

namespace nfgate::lb {
namespace {

std::vector<MaglevBackend> backends(uint32_t n, uint32_t first = 0) {
    std::vector<MaglevBackend> v;
    for (uint32_t i = first; i < first + n; i++) v.push_back({0x0af40000u + i * 7, 8080});
    return v;
}

bool prime(uint32_t n) {
    for (uint32_t d = 2; d * d <= n; d++)
        if (n % d == 0) return false;
    return n > 1;
}

TEST(Maglev, TableSizeIsAPrimeOfAtLeastHundredPerBackendThatMovesInSteps) {
    for (size_t n : {1u, 3u, 10u, 333u, 1000u, 65535u}) {
        const uint32_t m = Maglev::table_size_for(n);
        const uint32_t want = std::max<uint32_t>(100 * n, Maglev::kMinTableSize);
        EXPECT_GE(m, want);
        EXPECT_LT(m, 2 * want) << "no more than the next step up";
        EXPECT_TRUE(prime(m)) << m;
    }
    EXPECT_EQ(Maglev::table_size_for(50), Maglev::table_size_for(51)) << "one more backend, same M";
}

TEST(Maglev, EveryBackendGetsItsShareOfTheTable) {
    for (uint32_t n : {1u, 2u, 7u, 100u}) {
        const auto b = backends(n);
        const Maglev m = Maglev::build(b);
        ASSERT_EQ(m.size(), Maglev::table_size_for(n));
        std::vector<uint32_t> count(n, 0);
        for (uint16_t e : m.table()) {
            ASSERT_LT(e, n);
            count[e]++;
        }
        // Round-robin filling gives every backend floor(M/N) or ceil(M/N) entries.
        const double fair = double(m.size()) / n;
        for (uint32_t i = 0; i < n; i++) EXPECT_LE(std::abs(count[i] - fair), 1.0) << "backend " << i;
    }
}

TEST(Maglev, SameBackendSetInAnyOrderPicksTheSameBackend) {
    auto b = backends(50);
    const Maglev ref = Maglev::build(b);
    std::mt19937 rng(7);
    for (int round = 0; round < 3; round++) {
        std::shuffle(b.begin(), b.end(), rng);
        const Maglev m = Maglev::build(b);
        const auto base = backends(50);
        ASSERT_EQ(m.size(), ref.size());
        for (uint32_t h = 0; h < 20000; h++)
            ASSERT_EQ(b[m.pick(h * 2654435761u)], base[ref.pick(h * 2654435761u)]) << "hash " << h;
    }
}

// Share of flow hashes whose backend identity changed between two tables.
double moved(const std::vector<MaglevBackend>& b1, const Maglev& m1,
             const std::vector<MaglevBackend>& b2, const Maglev& m2, const MaglevBackend* gone,
             double* moved_from_survivors) {
    std::mt19937 rng(42);
    constexpr int kFlows = 200000;
    int changed = 0, survivors_changed = 0;
    for (int i = 0; i < kFlows; i++) {
        const uint32_t h = rng();
        const MaglevBackend before = b1[m1.pick(h)];
        const MaglevBackend after = b2[m2.pick(h)];
        if (before == after) continue;
        changed++;
        if (gone == nullptr || !(before == *gone)) survivors_changed++;
    }
    *moved_from_survivors = double(survivors_changed) / kFlows;
    return double(changed) / kFlows;
}

TEST(Maglev, RemovingOneOfNMovesAboutOneNth) {
    constexpr uint32_t kN = 50;
    const auto all = backends(kN);
    auto fewer = all;
    const MaglevBackend gone = fewer[17];
    fewer.erase(fewer.begin() + 17);
    const Maglev m1 = Maglev::build(all), m2 = Maglev::build(fewer);
    double from_survivors = 0;
    const double total = moved(all, m1, fewer, m2, &gone, &from_survivors);
    EXPECT_GT(total, 1.0 / kN * 0.9);
    // Maglev trades a little disruption for balance: with M ~ 160 N, about as many flows of other
    // backends move again as the removed backend had.
    EXPECT_LT(total, 2.0 / kN);
    EXPECT_LT(from_survivors, 1.0 / kN) << "flows of surviving backends moved";
}

TEST(Maglev, AddingOneMovesAboutOneNth) {
    constexpr uint32_t kN = 50;
    const auto before = backends(kN);
    const auto after = backends(kN + 1);
    const Maglev m1 = Maglev::build(before), m2 = Maglev::build(after);
    double unused = 0;
    const double total = moved(before, m1, after, m2, nullptr, &unused);
    EXPECT_GT(total, 1.0 / (kN + 1) * 0.9);
    EXPECT_LT(total, 2.0 / (kN + 1));
}

TEST(Maglev, EmptyOrTooManyBackendsGiveAnEmptyTable) {
    EXPECT_TRUE(Maglev::build({}).empty());
    std::vector<MaglevBackend> many(Maglev::kMaxBackends + 1);
    for (size_t i = 0; i < many.size(); i++) many[i] = {static_cast<uint32_t>(i), 1};
    EXPECT_TRUE(Maglev::build(many).empty());
}

TEST(Maglev, PickMatchesPlainModulo) {
    const auto b = backends(13);
    const Maglev m = Maglev::build(b);
    std::mt19937 rng(3);
    for (int i = 0; i < 100000; i++) {
        const uint32_t h = rng();
        ASSERT_EQ(m.pick(h), m.table()[h % m.size()]) << h;
    }
}

}  // namespace
}  // namespace nfgate::lb

// Maglev lookup-table population (Eisenbud et al., NSDI 2016, section 3.4).
#include "dataplane/lb/maglev.hpp"

#include <algorithm>
#include <iterator>
#include <numeric>

namespace nfgate::lb {

namespace {

// Primes near powers of two: the table size only changes when the backend count crosses one of
// these steps, because a different M reshuffles every flow. Between steps a backend change moves
// little more than its own share.
constexpr uint32_t kTableSizes[] = {251,    509,    1021,    2039,    4093,    8191,
                                    16381,  32749,  65521,   131071,  262139,  524287,
                                    1048573, 2097143, 4194301, 8388593};

// splitmix64's finaliser: a fixed, platform-independent mix, so every gateway derives the same
// permutation from the same backend identity.
uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint64_t identity(const MaglevBackend& b) { return (uint64_t{b.ip} << 16) | b.port; }

}  // namespace

uint32_t Maglev::table_size_for(size_t n) {
    const uint64_t want = std::max<uint64_t>(uint64_t{kEntriesPerBackend} * n, kMinTableSize);
    for (uint32_t m : kTableSizes)
        if (m >= want) return m;
    return kTableSizes[std::size(kTableSizes) - 1];
}

Maglev Maglev::build(std::span<const MaglevBackend> backends) {
    Maglev out;
    const size_t n = backends.size();
    if (n == 0 || n > kMaxBackends) return out;
    const uint32_t m = table_size_for(n);

    // Fill in identity order, not the caller's: the table depends only on the set.
    std::vector<uint16_t> order(n);
    std::iota(order.begin(), order.end(), uint16_t{0});
    std::sort(order.begin(), order.end(), [&](uint16_t a, uint16_t b) {
        return identity(backends[a]) < identity(backends[b]);
    });

    // Backend i prefers slots offset, offset + skip, offset + 2 skip, ... (mod M); M prime and
    // 0 < skip < M make that a permutation of every slot.
    std::vector<uint32_t> pos(n), skip(n);
    for (size_t i = 0; i < n; i++) {
        const uint64_t id = identity(backends[order[i]]);
        pos[i] = static_cast<uint32_t>(mix64(id ^ 0x6d61676c65763031ull) % m);
        skip[i] = static_cast<uint32_t>(mix64(id ^ 0x736b697070657231ull) % (m - 1)) + 1;
    }
    constexpr uint32_t kEmpty = 0xffffffffu;
    std::vector<uint32_t> table(m, kEmpty);
    uint32_t filled = 0;
    // Round robin: each backend in turn takes its next preferred slot still empty.
    while (filled < m) {
        for (size_t i = 0; i < n && filled < m; i++) {
            while (table[pos[i]] != kEmpty) pos[i] = (pos[i] + skip[i]) % m;
            table[pos[i]] = order[i];
            pos[i] = (pos[i] + skip[i]) % m;
            filled++;
        }
    }
    out.table_.assign(table.begin(), table.end());
    out.mod_magic_ = ~uint64_t{0} / m + 1;
    return out;
}

}  // namespace nfgate::lb

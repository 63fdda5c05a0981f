// A build-once, read-only open-addressing map from a 64-bit key to a 32-bit value, for the
// lookups a snapshot answers per packet (service frontends, address kinds, ARP answers). Built
// on the control thread; readers never write, so concurrent lookups need no synchronisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nfgate::engine {

class FlatMap {
public:
    static constexpr uint32_t kAbsent = ~uint32_t{0};

    // `keys` and `values` pair up; a later duplicate key keeps the first value.
    void build(const std::vector<uint64_t>& keys, const std::vector<uint32_t>& values) {
        size_t cap = 16;
        while (cap < keys.size() * 2) cap <<= 1;  // load factor <= 1/2 keeps probes short
        mask_ = cap - 1;
        slots_.assign(cap, Slot{});
        for (size_t i = 0; i < keys.size(); ++i) insert(keys[i], values[i]);
    }

    uint32_t find(uint64_t key) const {
        if (slots_.empty()) return kAbsent;
        for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (!s.used) return kAbsent;
            if (s.key == key) return s.value;
        }
    }

    bool contains(uint64_t key) const { return find(key) != kAbsent; }

private:
    struct Slot {
        uint64_t key = 0;
        uint32_t value = 0;
        bool used = false;
    };

    static size_t hash(uint64_t k) {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdULL;
        k ^= k >> 33;
        return static_cast<size_t>(k);
    }

    void insert(uint64_t key, uint32_t value) {
        for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.used && s.key == key) return;
            if (!s.used) {
                s = Slot{key, value, true};
                return;
            }
        }
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

}  // namespace nfgate::engine

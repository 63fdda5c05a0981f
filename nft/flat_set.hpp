// A set for renderings that see each key many times (addresses of endpoints, frontends of
// services): open addressing in one array, no allocation per key. A default-constructed key
// marks a free slot and is never an element: no rendered address, frontend or endpoint is
// all zero.
#pragma once

#include <cstddef>
#include <vector>

namespace nfgate::nft {

template <typename K, typename Hash>
class FlatSet {
public:
    // True when `k` was not in the set (it is now).
    bool insert(const K& k) {
        if (2 * (size_ + 1) > slots_.size()) grow();
        return place(k);
    }

private:
    bool place(const K& k) {
        const size_t mask = slots_.size() - 1;
        for (size_t i = Hash{}(k) & mask;; i = (i + 1) & mask) {
            if (slots_[i] == k) return false;
            if (slots_[i] == K{}) {
                slots_[i] = k;
                ++size_;
                return true;
            }
        }
    }
    void grow() {
        std::vector<K> old(slots_.empty() ? 256 : 2 * slots_.size());
        old.swap(slots_);
        size_ = 0;
        for (const K& k : old)
            if (!(k == K{})) place(k);
    }

    std::vector<K> slots_;
    size_t size_ = 0;
};

}  // namespace nfgate::nft

// A set of addresses of one family for renderings that see each address many times (the
// hairpin set: every in-cluster endpoint of every port): open addressing in one array, no
// allocation per address. The all-zero address is never an element (it marks a free slot; no
// endpoint has it).
#pragma once

#include <cstddef>
#include <vector>

#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

template <typename A>
class FlatAddrSet {
public:
    // True when `a` was not in the set (it is now).
    bool insert(const A& a) {
        if (2 * (size_ + 1) > slots_.size()) grow();
        return place(a);
    }

private:
    bool place(const A& a) {
        const size_t mask = slots_.size() - 1;
        for (size_t i = AddrHash{}(a) & mask;; i = (i + 1) & mask) {
            if (slots_[i] == a) return false;
            if (slots_[i] == A{}) {
                slots_[i] = a;
                ++size_;
                return true;
            }
        }
    }
    void grow() {
        std::vector<A> old(slots_.empty() ? 1024 : 2 * slots_.size());
        old.swap(slots_);
        size_ = 0;
        for (const A& a : old)
            if (!(a == A{})) place(a);
    }

    std::vector<A> slots_;
    size_t size_ = 0;
};

}  // namespace nfgate::nft

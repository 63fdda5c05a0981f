// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size M where
// every backend owns about M/N entries, so picking a backend for a flow is table[hash % M], and a
// change of the backend set moves little more than the flows of the backends that changed.
//
// The table depends only on the set of backend identities (ip, port), never on their order or on
// the gateway that builds it: two gateways given the same endpoints pick the same backend for the
// same flow. Built on the control thread (it allocates); read by workers through an immutable
// snapshot.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nfgate::lb {

// Backend identity; any byte order, as long as every gateway uses the same one.
struct MaglevBackend {
    uint32_t ip = 0;
    uint16_t port = 0;
    bool operator==(const MaglevBackend&) const = default;
};

class Maglev {
public:
    // M >= 100 x N keeps every backend within about 1% of its fair share.
    static constexpr uint32_t kEntriesPerBackend = 100;
    static constexpr uint32_t kMinTableSize = 251;
    static constexpr size_t kMaxBackends = 65535;  // table entries are 16-bit indexes

    // Smallest prime of a fixed ladder (near powers of two, 251 .. 8388593) that is
    // >= max(kEntriesPerBackend * n, kMinTableSize). A ladder, not the next prime after 100 n:
    // the size must stay put when one backend comes or goes, or every flow would move.
    static uint32_t table_size_for(size_t n);

    Maglev() = default;

    // Builds the table for `backends` (identities must be distinct). Entries are indexes into
    // `backends` as given. Empty table when backends is empty or longer than kMaxBackends.
    static Maglev build(std::span<const MaglevBackend> backends);

    bool empty() const { return table_.empty(); }
    uint32_t size() const { return static_cast<uint32_t>(table_.size()); }
    const std::vector<uint16_t>& table() const { return table_; }

    // Index (into the build() span) of the backend for a flow hash. Table must not be empty.
    uint16_t pick(uint32_t hash) const { return table_[fast_mod(hash)]; }

private:
    // Lemire's fastmod: hash % M with two multiplications instead of a division.
    uint32_t fast_mod(uint32_t h) const {
        const uint64_t low = mod_magic_ * h;
        return static_cast<uint32_t>((static_cast<__uint128_t>(low) * table_.size()) >> 64);
    }

    std::vector<uint16_t> table_;
    uint64_t mod_magic_ = 0;
};

}  // namespace nfgate::lb

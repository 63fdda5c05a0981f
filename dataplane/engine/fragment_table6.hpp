// IPv6 fragments of a translated flow, translated without reassembly as IPv4's are
// (fragment_table.hpp): the first fragment carries the upper-layer header and finds the flow;
// the addresses it left with are kept under (source, destination, fragment identification,
// upper-layer protocol) as it arrived, and every later fragment of that datagram takes them.
// IPv6 has no header checksum, so a later fragment only has its two addresses replaced.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/engine/fragment_table.hpp"
#include "model/ip6.hpp"

namespace nfgate::engine {

struct FragmentKey6 {
    Ip6 src, dst;
    uint32_t id = 0;  // network order, as in the fragment header
    uint8_t proto = 0;

    bool operator==(const FragmentKey6&) const = default;
    uint64_t hash() const {
        uint64_t w[4];
        std::memcpy(w, src.data(), 16);
        std::memcpy(w + 2, dst.data(), 16);
        return (w[0] ^ w[1] * 31) ^ (w[2] * 17 ^ w[3]) ^ (uint64_t{id} << 8 | proto);
    }
};

struct FragmentAddrs6 {
    Ip6 src, dst;
};

using FragmentTable6 = BasicFragmentTable<FragmentKey6, FragmentAddrs6>;

}  // namespace nfgate::engine

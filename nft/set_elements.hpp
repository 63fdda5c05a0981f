// Reading one set's elements back from the kernel: what the rules and the kernel put there that
// the rendering does not hold (element counters, affinity pins).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "nft/nft_ruleset.hpp"

struct nftnl_set_elem;

namespace nfgate::nft {

// Calls `each` for every element of `set` in nfgate's table of `family`. False with `err` when
// the set cannot be read; errno is then the kernel's answer (ENOENT: no such table or set).
bool dump_set_elements(const std::string& set, Family family, const std::function<void(nftnl_set_elem*)>& each,
                       std::string& err);

// An address as a set's key or data holds it, in network order: 4 bytes, or 16 in the ip6 table.
Addr addr_from_set(const uint8_t* p, Family family);

}  // namespace nfgate::nft

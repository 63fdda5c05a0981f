// Ruleset -> `nft -f` text. Pure. Used by the golden tests and as the input of the `nft -f`
// peer in the benchmark; the format follows `nft list table` so the two can be compared.
#pragma once

#include <string>

#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

std::string to_nft_text(const Ruleset& rs);
// The same without the sets' elements (their declarations stay), for a reader that takes the
// elements another way: the seal's fingerprint hashes them field by field (ruleset_seal.cpp).
std::string to_nft_text_without_elements(const Ruleset& rs);

// Pieces, also used to describe batch messages in errors.
std::string rule_text(const Rule& r, Family f = Family::ip);
std::string elem_text(const Set& set, const SetElem& e, Family f = Family::ip);

}  // namespace nfgate::nft

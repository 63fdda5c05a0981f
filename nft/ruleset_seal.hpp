// The seal: what lets a restarted nfgate adopt the ruleset an earlier run left instead of
// rewriting it. The table carries a chain `nfgate-seal` holding one rule whose comment is the
// fingerprint of the rendering the table holds. A full apply writes it in the same batch; an
// incremental apply removes it in its batch (the table then holds what only that run's memory
// knows) and a clean stop writes it again. A restart whose model renders to the sealed
// fingerprint changes nothing at all: affinity maps, counters and rule handles stay; any other
// start replaces the table in one atomic batch as before. Hand edits to the table are not seen.
#pragma once

#include <string>

#include "nft/nft_plan.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

inline constexpr const char* kSealChain = "nfgate-seal";

// "nfgate ruleset <16 hex digits>": a 64-bit hash of the `nft -f` text of `rs` without its elements,
// then over every element field by field.
std::string ruleset_fingerprint(const Ruleset& rs);

// The fingerprint the kernel's table of `family` carries; empty when it has no table, no seal
// chain or no sealed rule. False only when the kernel cannot be asked.
bool read_seal(Family family, std::string& fingerprint, std::string& err);

// The seal chain and its rule, referred to by the plan operations below (keep it alive).
struct Seal {
    Chain chain{kSealChain, std::nullopt, {}};
    Rule rule;

    // Appends: (create the chain when `create`), flush it, and (when `fingerprint` is not empty)
    // add the sealed rule.
    void append(Plan& p, const std::string& fingerprint, bool create);
};

}  // namespace nfgate::nft

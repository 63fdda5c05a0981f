// One rule expression (nft_ruleset.hpp) -> the libnftnl expressions nft itself would emit for
// its text form, so `nft list` prints back what nft_text.cpp wrote.
#pragma once

#include <libnftnl/rule.h>

#include <cstdint>

#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

void lower_expr(const Expr& e, nftnl_rule* r, Family f = Family::ip);

}  // namespace nfgate::nft

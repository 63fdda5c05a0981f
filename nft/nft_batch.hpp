// Plan -> one nfnetlink batch (begin, messages, end) built with libnftnl. Pure: no socket here;
// netlink.cpp sends it and reads the answers.
#pragma once

#include <cstdint>

#include "nft/batch_bytes.hpp"
#include "nft/nft_plan.hpp"

namespace nfgate::nft {

Batch build_batch(const Plan& p, uint32_t first_seq);

}  // namespace nfgate::nft

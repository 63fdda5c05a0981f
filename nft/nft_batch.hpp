// Plan -> one nfnetlink batch (begin, messages, end) built with libnftnl. Pure: no socket here;
// netlink.cpp sends it and reads the answers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nft/nft_plan.hpp"

namespace nfgate::nft {

struct Batch {
    std::vector<char> buf;          // the messages back to back; size() is the byte count to send
    uint32_t first_seq = 0;         // sequence number of the batch-begin message
    std::vector<std::string> what;  // what[seq - first_seq]: the object the message works on
    uint32_t acks_expected = 0;     // messages that ask for an acknowledgement
};

Batch build_batch(const Plan& p, uint32_t first_seq);

}  // namespace nfgate::nft

// A built nfnetlink batch as bytes plus what each message works on: what nft_batch.cpp makes
// and netlink.cpp sends. Plain data, so the sender needs neither the plan nor libnftnl.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nfgate::nft {

struct Batch {
    std::vector<char> buf;          // the messages back to back; size() is the byte count to send
    uint32_t first_seq = 0;         // sequence number of the batch-begin message
    std::vector<std::string> what;  // what[seq - first_seq]: the object the message works on
    uint32_t acks_expected = 0;     // messages that ask for an acknowledgement
    // The rest of what[i] (a rule's text), put together only when a message is refused: it
    // reads the rules of the plan the batch was built from, which must still be alive then.
    std::function<std::string(uint32_t i)> detail;
};

}  // namespace nfgate::nft

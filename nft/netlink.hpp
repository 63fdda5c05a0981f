// The one place that talks nfnetlink: send a batch, read every acknowledgement, and name the
// object behind each error by the sequence number of the message the kernel refused.
#pragma once

#include <cstdint>
#include <string>

#include "nft/batch_bytes.hpp"

namespace nfgate::nft {

// A sequence number not yet used on this host by this process, for the next batch.
uint32_t next_batch_seq(uint32_t messages);

// True when the kernel accepted the whole batch. Otherwise nothing changed (the batch is one
// transaction) and `err` holds one "<what the message did>: <kernel error>" per refused message.
bool send_batch(const Batch& b, std::string& err);

}  // namespace nfgate::nft

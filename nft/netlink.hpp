// The one place that talks nfnetlink: send a batch, read every acknowledgement, and name the
// object behind each error by the sequence number of the message the kernel refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

struct nlmsghdr;

#include "nft/batch_bytes.hpp"

namespace nfgate::nft {

// A sequence number not yet used on this host by this process, for the next batch.
uint32_t next_batch_seq(uint32_t messages);

// True when the kernel accepted the whole batch. Otherwise nothing changed (the batch is one
// transaction) and `err` holds one "<what the message did>: <kernel error>" per refused message.
bool send_batch(const Batch& b, std::string& err);

// What the batches sent so far cost the kernel: the time from handing a batch to the socket to
// its last acknowledgement read (the kernel commits a batch inside the sending call, so this is
// its commit plus the reading of the answers), summed over every batch of this process. The
// floor a sync cannot go below; benchmarks read it before and after an apply.
struct BatchClock {
    uint64_t batches = 0;
    uint64_t bytes = 0;
    uint64_t kernel_ns = 0;
};
BatchClock batch_clock();

// One request outside a batch (a dump or a get), its answers handed to `cb` (libmnl's
// mnl_cb_t) with `data`, read through a buffer of `buf_size` bytes. Returns what the last
// mnl_cb_run returned: negative with errno set when the kernel answered with an error (ENOENT:
// no such object). -1 with `err` set when the socket could not be used at all.
using ReplyCallback = int (*)(const nlmsghdr* nlh, void* data);
int query(const nlmsghdr* request, ReplyCallback cb, void* data, size_t buf_size, std::string& err);

}  // namespace nfgate::nft

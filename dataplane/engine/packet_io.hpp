// The packet sink the burst function writes to (see worker.hpp's contract): production buffers
// tx per port (port::TxBufferIo), tests record.
#pragma once

#include <rte_mbuf.h>

#include <concepts>
#include <cstdint>

namespace nfgate::engine {

template <class Io>
concept PacketIo = requires(Io& io, uint16_t port, rte_mbuf* m) {
    io.tx(port, m);    // queue for transmit on `port`; takes ownership
    io.drop(m);        // free; takes ownership
};

}  // namespace nfgate::engine

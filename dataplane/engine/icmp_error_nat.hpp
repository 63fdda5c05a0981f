// ICMP errors (destination unreachable, time exceeded, parameter problem) about a tracked flow:
// the quoted packet is the one the gateway sent, already translated, so both the outer header
// and the quoted inner header are translated back (RFC 5508 section 6, as Linux NAT does).
#pragma once

#include <rte_mbuf.h>

#include "dataplane/net/checksum.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/slow_path.hpp"

namespace nfgate::engine {

Fate on_icmp_error(SlowCtx& c, PacketMeta& pm, net::CsumDelta& ip_delta);

}  // namespace nfgate::engine

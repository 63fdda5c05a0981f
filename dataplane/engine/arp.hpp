// ARP (RFC 826) for the fast path: answers requests for the gateway's addresses and the service
// VIPs inside an interface's subnet, learns neighbours, and builds the requests and gratuitous
// announcements the engine and the port part send. Everything is written in place in an mbuf.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/engine/drop_reasons.hpp"
#include "dataplane/engine/neighbour_table.hpp"
#include "dataplane/engine/service_table.hpp"

namespace nfgate::engine {

// Handles a received ARP frame at `now_s` (the neighbour table's clock). Returns arp_reply_sent
// when `m` now holds the reply to send back out `in_port`; any other reason means `m` is to be
// dropped. `not_learnt` is set when a sender that should have been learnt found no room.
Reason handle_arp(const ServiceTable& st, NeighbourTable& neighbours, rte_mbuf* m, uint16_t in_port, uint32_t now_s,
                  bool& not_learnt);

// Overwrites `m` with a broadcast ARP request from `iface` for `target_ip` (host order).
void build_arp_request(rte_mbuf* m, const IfaceInfo& iface, uint32_t target_ip);

// Overwrites `m` with a gratuitous ARP request announcing `addr` (default: the interface's own
// address) from `iface` (sender and target IP both `addr`, RFC 5227 2.4). The port part sends
// one per address in ServiceTable::arp_addresses(port) when a port comes up or VIPs move in.
void build_garp(rte_mbuf* m, const IfaceInfo& iface, uint32_t addr = 0);

}  // namespace nfgate::engine

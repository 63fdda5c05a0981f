// The kernel's connection-tracking table, read for listings (`nfgatectl flows` on the kernel
// path): one dump over libnetfilter_conntrack, each entry handed over as plain data.
#pragma once

#include <functional>
#include <string>

#include "model/tracked_flow.hpp"

namespace nfgate::nft {

// Calls `visit` for every TCP/UDP entry, and every ICMP (IPv4) or ICMPv6 (IPv6) one, of both
// families in the current network namespace until it returns false. False with `err` when the table cannot be read.
bool dump_kernel_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err);

}  // namespace nfgate::nft

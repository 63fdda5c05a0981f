// What the kernel says about SYN floods in the daemon's network namespace, read once a second
// for the SYN-flood guard and the metrics: half-open connections to Service frontends (a
// conntrack dump), the SYN proxy's statistics (/proc/net/stat/synproxy), conntrack's early drops
// (/proc/net/stat/nf_conntrack) and the per-source limit's counter (nftables counter object).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/model.hpp"

namespace nfgate::nft {

struct FloodFigures {
    uint64_t half_open = 0;       // TCP entries in SYN_SENT/SYN_RECV whose original destination is a frontend (either family)
    uint64_t syn_received = 0;    // SYNs the proxy answered with a cookie
    uint64_t cookie_valid = 0;    // ACKs with a valid cookie: connections the proxy opened
    uint64_t cookie_invalid = 0;  // ACKs with a bad or expired cookie
    uint64_t early_drop = 0;      // entries conntrack gave up to make room
    std::optional<uint64_t> rate_limited;  // new connections the per-source limit dropped (none: limit off)
};

// Sums the named columns of a /proc/net/stat file (a header line, then one line of hex numbers
// per CPU). Exposed for tests.
std::optional<uint64_t> sum_proc_stat_column(std::string_view text, std::string_view column);

// The packets counted by the nfgate table's named counter `name`; nullopt (with `err`) when the
// table has none.
std::optional<uint64_t> read_named_counter(const std::string& name, std::string& err);

// False with `err` when conntrack cannot be dumped; the /proc files and the counter are best effort.
bool read_flood_figures(const Model& m, FloodFigures& out, std::string& err);

}  // namespace nfgate::nft

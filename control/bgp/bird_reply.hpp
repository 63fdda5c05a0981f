// BIRD's control socket protocol (BIRD 2 documentation, "Remote control"): every reply line
// starts with a four-digit code, a '-' when more lines follow and a ' ' on the last one; a
// line starting with a space continues the previous code. 0xxx: done, 1xxx: table rows,
// 2xxx: table headings, 8xxx: run-time errors, 9xxx: parse errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nfgate::bgp {

struct BirdReply {
    struct Line {
        int code = 0;
        std::string text;
    };
    std::vector<Line> lines;
    int final_code = -1;  // -1 until the last line was read

    bool complete() const { return final_code >= 0; }
    bool ok() const { return complete() && final_code < 8000; }
    // The text of every line, '\n'-joined (for errors and logs).
    std::string text() const;
};

// Feeds `data` (any split) into `reply`; `partial` keeps an unfinished line between calls.
// Returns false on a line that is not BIRD's protocol.
bool feed_bird_reply(std::string_view data, std::string& partial, BirdReply& reply);

// One BGP session as `show protocols all` tells it.
struct BgpSession {
    std::string protocol;      // peer_192_0_2_254
    std::string peer;          // Neighbor address
    uint32_t peer_asn = 0;
    std::string state;         // BGP state: Established, Active, Connect, Idle, ...; "down" when disabled
    int64_t since_unix = 0;    // when the protocol entered its state
    uint64_t exported = 0;     // routes announced to the peer
    uint64_t imported = 0;
    std::string info;          // the Info column (e.g. the last error)
    bool established() const { return state == "Established"; }
};

std::vector<BgpSession> parse_bgp_sessions(const BirdReply& show_protocols_all);

}  // namespace nfgate::bgp

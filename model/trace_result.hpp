// What `nfgatectl trace` answers, as either data path works it out for one synthetic packet:
// every decision in order, and the outcome. Plain data; nothing is created by a trace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/ip6.hpp"
#include "model/model.hpp"

namespace nfgate {

struct TracePacket {
    uint8_t proto = 6;  // IPPROTO_TCP / UDP
    uint32_t src = 0, dst = 0;  // host order
    uint16_t sport = 0, dport = 0;
    // The IPv6 family: src6/dst6 stand in for src/dst (which stay zero).
    bool ipv6 = false;
    Ip6 src6, dst6;
};

struct TraceStep {
    std::string stage;   // "service lookup", "chain services", "backend choice", ...
    std::string detail;  // what was decided there and why
};

struct TraceResult {
    std::vector<TraceStep> steps;
    std::string verdict;  // "forward" | "drop" | "reject" | "local"
    std::string reason;   // the drop reason / why
    std::string service;  // "ns/name" when a Service matched
    std::vector<Endpoint> candidates;  // endpoints the choice is made among
    std::optional<Endpoint> chosen;    // the one picked, where the path's choice is determined
    std::optional<uint32_t> snat;      // the source the packet leaves with, when known
    bool masquerade = false;           // the source is replaced by the gateway's address
    // The same for an IPv6 packet (candidates, chosen and snat stay empty then).
    std::vector<Endpoint6> candidates6;
    std::optional<Endpoint6> chosen6;
    std::optional<Ip6> snat6;
};

}  // namespace nfgate

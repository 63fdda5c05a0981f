#include "nft/nft_flood_render.hpp"

namespace nfgate::nft {

namespace {

// The MSS the proxy's SYN-ACK announces: a 1500-byte Ethernet MTU's. No timestamp option, and
// with it no window scaling or SACK (the kernel keeps those in the cookie's timestamp bits only):
// measured in tests/nft/test_kernel_flood.cpp's lab, with `timestamp` every proxied connection to a
// server that speaks first (SSH, SMTP, MySQL) waited 1 s for its first byte (the endpoint never
// took the proxy's ACK and retransmitted its SYN-ACK), against 0.2 ms without. A proxied connection
// therefore has a 64 KiB window, as one opened through the fast path's cookies.
constexpr uint16_t kSynProxyMss = 1460;

constexpr int32_t kRawPriority = -300;  // nft's "raw": before conntrack (-200) sees the packet

}  // namespace

Set synproxy_set() {
    Set s;
    s.name = kSynProxySet;
    s.key = KeyKind::addr_port;
    return s;
}

Chain raw_prerouting_chain() {
    Chain c{kRawPreroutingChain, BaseHook{ChainType::filter, Hook::prerouting, kRawPriority}, {}};
    c.rules.push_back(Rule{{MatchTcpSyn{}, MatchTcpFrontend{kSynProxySet}, Notrack{}}});
    return c;
}

std::vector<Rule> synproxy_rules() {
    // The untracked SYN and the client's cookie-carrying ACK (invalid: conntrack saw no SYN) go
    // to the proxy; what it leaves of invalid traffic to a proxied frontend (segments with a bad
    // cookie, stray FIN/RST) is dropped rather than passed to the endpoint.
    return {Rule{{MatchCtState{kCtStateInvalid | kCtStateUntracked}, MatchL4proto{Proto::tcp},
                  MatchTcpFrontend{kSynProxySet}, SynProxy{kSynProxyMss}}},
            Rule{{MatchCtState{kCtStateInvalid}, MatchL4proto{Proto::tcp}, MatchTcpFrontend{kSynProxySet},
                  Verdict{Verdict::Kind::drop, {}}}}};
}

uint32_t new_flow_sources_timeout(const Model& m) {
    const uint32_t rate = m.new_flows_per_source == 0 ? 1 : m.new_flows_per_source;
    return (m.per_source_burst() + rate - 1) / rate + 1;
}

std::optional<Set> new_flow_sources_set(const Model& m) {
    if (m.new_flows_per_source == 0) return std::nullopt;
    Set s;
    s.name = kNewFlowSourcesSet;
    s.key = KeyKind::addr;
    s.meter = true;
    s.timeout_s = new_flow_sources_timeout(m);
    s.size = kNewFlowSourcesSize;
    return s;
}

std::optional<Rule> new_flow_limit_rule(const Model& m) {
    if (m.new_flows_per_source == 0) return std::nullopt;
    return Rule{{MatchCtDnat{}, LimitPerSource{kNewFlowSourcesSet, m.new_flows_per_source, m.per_source_burst()},
                 CounterRef{kRateLimitedCounter}, Verdict{Verdict::Kind::drop, {}}}};
}

}  // namespace nfgate::nft

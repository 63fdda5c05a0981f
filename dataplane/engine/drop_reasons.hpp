// Why a packet left the established-flow straight line: every drop and every exception the
// engine takes is one value here, counted per worker and named once for stats output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nfgate::engine {

// Order is the counter index; append only so stats names stay stable.
enum class Reason : uint8_t {
    // malformed input (dropped)
    eth_truncated,
    eth_unsupported_type,
    eth_not_for_us,              // IPv4 frame to another station's MAC (promiscuous links)
    ip_truncated,
    ip_bad_version,
    ip_bad_ihl,
    ip_bad_total_length,
    ip_bad_checksum,
    l4_truncated,
    arp_malformed,
    // policy and state (dropped)
    arp_not_for_us,
    ip_not_unicast,              // multicast, limited broadcast or class E: never forwarded
    local_delivery_unsupported,  // to the gateway itself, not ARP/ping: no kernel exception path
    tcp_invalid_no_syn,          // conntrack miss on a TCP packet that cannot start a flow
    tcp_invalid_state,           // tracked TCP packet the state machine rejects (Linux INVALID)
    icmp_untracked,              // ICMP that is neither echo nor an error about a tracked flow
    unallocated_cluster_ip,      // inside serviceCIDRs, no Service owns the address
    source_range_denied,         // loadBalancerSourceRanges excludes the client
    flow_table_full,
    snat_ports_exhausted,
    flow_clash,                  // the reply tuple already belongs to another flow
    flow_insert_busy,            // a racing insert of the same flow did not finish in time
    fragment_of_nat_flow,        // fragment of NAT traffic that is not TCP/UDP (e.g. ICMP echo)
    no_route,
    ttl_expired,                 // TTL ran out where RFC 1812 forbids an ICMP error about it
    neighbour_unresolved,        // ARP request sent (rate limited); the packet itself is dropped
    unsupported_protocol,        // e.g. SCTP/GRE to a VIP
    reject_not_sent,             // no endpoint, but the source cannot be answered (RFC 1812 4.3.2.7)
    // exceptions answered in place (the mbuf leaves as the answer)
    arp_reply_sent,
    arp_learned,                 // ARP reply consumed into the neighbour table
    echo_reply_sent,
    ttl_exceeded_sent,
    reset_sent,                  // TCP to a service port with no ready endpoint
    port_unreachable_sent,       // UDP/ICMP to a service port with no ready endpoint
    // fragments of translated traffic (see fragment_table.hpp)
    fragment_without_first,      // later fragment of NAT traffic, no first fragment seen (or timed out): dropped
    fragment_table_evicted,      // a live fragment-table entry was replaced by a newer datagram (not a drop)
    count_
};

inline constexpr size_t kReasonCount = static_cast<size_t>(Reason::count_);

inline constexpr std::array<std::string_view, kReasonCount> kReasonNames = {
    "eth_truncated",
    "eth_unsupported_type",
    "eth_not_for_us",
    "ip_truncated",
    "ip_bad_version",
    "ip_bad_ihl",
    "ip_bad_total_length",
    "ip_bad_checksum",
    "l4_truncated",
    "arp_malformed",
    "arp_not_for_us",
    "ip_not_unicast",
    "local_delivery_unsupported",
    "tcp_invalid_no_syn",
    "tcp_invalid_state",
    "icmp_untracked",
    "unallocated_cluster_ip",
    "source_range_denied",
    "flow_table_full",
    "snat_ports_exhausted",
    "flow_clash",
    "flow_insert_busy",
    "fragment_of_nat_flow",
    "no_route",
    "ttl_expired",
    "neighbour_unresolved",
    "unsupported_protocol",
    "reject_not_sent",
    "arp_reply_sent",
    "arp_learned",
    "echo_reply_sent",
    "ttl_exceeded_sent",
    "reset_sent",
    "port_unreachable_sent",
    "fragment_without_first",
    "fragment_table_evicted",
};

static_assert(!kReasonNames.back().empty(), "every Reason needs its name");

constexpr std::string_view reason_name(Reason r) { return kReasonNames[static_cast<size_t>(r)]; }

// True when the packet was answered (left as a generated reply) rather than dropped.
constexpr bool reason_sends_reply(Reason r) {
    return r == Reason::arp_reply_sent || r == Reason::echo_reply_sent ||
           r == Reason::ttl_exceeded_sent || r == Reason::reset_sent ||
           r == Reason::port_unreachable_sent;
}

}  // namespace nfgate::engine

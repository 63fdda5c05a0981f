// Why a packet left the established-flow straight line: every drop and every exception the
// engine takes is one value here, counted per worker and named once for stats output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nfgate::engine {

// One list, in counter order: the enum and the name table are both generated from it, so a
// name can neither drift from its value nor move to another index. The name is the enum
// identifier itself. Append only, so stats names and metric labels stay stable. Comments inside
// the list are /* */ because a // comment would swallow the line continuation.
#define NFGATE_ENGINE_REASONS(X) \
    /* malformed input (dropped) */                                                                                      \
    X(eth_truncated)                                                                                                     \
    X(eth_unsupported_type)                                                                                              \
    X(eth_not_for_us)               /* IPv4 frame to another station's MAC (promiscuous links) */                        \
    X(ip_truncated)                                                                                                      \
    X(ip_bad_version)                                                                                                    \
    X(ip_bad_ihl)                                                                                                        \
    X(ip_bad_total_length)                                                                                               \
    X(ip_bad_checksum)                                                                                                   \
    X(l4_truncated)                                                                                                      \
    X(arp_malformed)                                                                                                     \
    /* policy and state (dropped) */                                                                                     \
    X(arp_not_for_us)                                                                                                    \
    X(ip_not_unicast)               /* multicast, limited broadcast or class E: never forwarded */                       \
    X(local_delivery_unsupported)   /* to the gateway itself, not ARP/ping, and no exception path running */                  \
    X(tcp_invalid_no_syn)           /* conntrack miss on a TCP packet that cannot start a flow */                        \
    X(tcp_invalid_state)            /* tracked TCP packet the state machine rejects (Linux INVALID) */                   \
    X(icmp_untracked)               /* ICMP that is neither echo nor an error about a tracked flow */                    \
    X(unallocated_cluster_ip)       /* inside serviceCIDRs, no Service owns the address */                               \
    X(source_range_denied)          /* loadBalancerSourceRanges excludes the client */                                   \
    X(flow_table_full)                                                                                                   \
    X(snat_ports_exhausted)                                                                                              \
    X(flow_clash)                   /* the reply tuple already belongs to another flow */                                \
    X(flow_insert_busy)             /* a racing insert of the same flow did not finish in time */                        \
    X(fragment_of_nat_flow)         /* fragment of NAT traffic that is not TCP/UDP (e.g. ICMP echo) */                   \
    X(no_route)                                                                                                          \
    X(ttl_expired)                  /* TTL ran out where RFC 1812 forbids an ICMP error about it */                      \
    X(neighbour_unresolved)         /* next hop's MAC unknown and no room to wait for it: dropped */                  \
    X(unsupported_protocol)         /* e.g. SCTP/GRE to a VIP */                                                         \
    X(reject_not_sent)              /* no endpoint, but the source cannot be answered (RFC 1812 4.3.2.7) */              \
    /* exceptions answered in place (the mbuf leaves as the answer) */                                                   \
    X(arp_reply_sent)                                                                                                    \
    X(arp_learned)                  /* ARP reply consumed into the neighbour table */                                    \
    X(echo_reply_sent)                                                                                                   \
    X(ttl_exceeded_sent)                                                                                                 \
    X(reset_sent)                   /* TCP to a service port with no ready endpoint */                                   \
    X(port_unreachable_sent)        /* UDP/ICMP to a service port with no ready endpoint */                              \
    /* fragments of translated traffic (see fragment_table.hpp) */                                                       \
    X(fragment_without_first)       /* later fragment of NAT traffic, no first fragment seen (or timed out): dropped */  \
    X(fragment_table_evicted)       /* a live fragment-table entry was replaced by a newer datagram (not a drop) */  \
    /* RFC 1812 5.3.7 martians (appended: the order above is the counters' index) */                                   \
    X(martian_source)               /* from 0/8, 127/8, 224/4, 240/4, broadcast, the gateway or a VIP */               \
    X(martian_destination)          /* to 0/8 or 127/8 */                                                              \
    /* neighbours (see neighbour_table.hpp, neighbour_wait.hpp) */                                                      \
    X(neighbour_table_full)         /* an ARP sender was not learnt, its port's share of the table full (not a drop) */ \
    X(neighbour_queue_timeout)      /* waited for its next hop's ARP answer in vain: dropped */                     \
    /* the exception path to the gateway's kernel (exception_queue.hpp) */                                            \
    X(exception_to_kernel)          /* handed to the gateway's kernel (not a drop) */                                   \
    X(exception_rate_limited)       /* to the kernel, over the per-worker rate: dropped */                              \
    X(exception_queue_full)         /* to the kernel, its ring full: dropped */                                        \
    X(tcp_picked_up)                /* a connection another gateway started, taken over mid-stream (not a drop) */ \
    /* the SYN proxy (syn_proxy.hpp) */                                                                                 \
    X(syn_cookie_sent)              /* a SYN to a frontend answered with a SYN cookie, no flow made (not a drop) */      \
    X(syn_proxy_opened)             /* a client's ACK returned a valid cookie: the backend connection opened (not a drop) */ \
    X(syn_proxy_pending)            /* a client segment before the backend answered the proxy's SYN: dropped */          \
    X(syn_proxy_refused)            /* a backend segment other than SYN-ACK/RST to the proxy's SYN: dropped */          \
    X(new_flow_rate_limited)        /* a source over conntrack.newFlowsPerSource opened one more flow: dropped */  \
    /* IPv6 receive checks (packet_parse6.hpp; appended: the order above is the counters' index) */                   \
    X(ip6_truncated)                /* frame shorter than the 40-byte IPv6 header */                                    \
    X(ip6_bad_version)              /* IPv6 EtherType, version field not 6 */                                           \
    X(ip6_bad_payload_length)       /* payload length beyond the frame (jumbograms included) */                         \
    X(ip6_ext_truncated)            /* an extension header runs past the payload length */                              \
    X(ip6_ext_chain_too_long)       /* over 8 extension headers, or the upper layer not within 256 bytes */             \
    X(ip6_ext_misplaced)            /* hop-by-hop not first (RFC 8200 4.1), or a second fragment header */             \
    X(ip6_routing_type0)            /* type 0 routing header, deprecated by RFC 5095 */                                 \
    X(ip6_routing_segments_left)    /* routing header with segments left, addressed to the gateway or translated */     \
    X(ip6_fragment_malformed)       /* M set and a length not a multiple of 8, or past 65535 (RFC 8200 4.5) */          \
    X(ip6_first_fragment_incomplete) /* first fragment without the whole chain through the upper layer (RFC 7112) */   \
    X(ip6_martian_source)           /* from ::, ::1 or multicast (RFC 4291 2.5.2, 2.5.3, 2.7) */                        \
    X(ip6_martian_destination)      /* to :: or ::1 (RFC 4291 2.5.2, 2.5.3) */                                          \
    X(ip6_udp_zero_checksum)        /* UDP checksum 0, not allowed on IPv6 (RFC 8200 8.1) */                           \
    X(ip6_not_forwarded)            /* IPv6 other than neighbour discovery and echo to the gateway: not forwarded yet */ \
    X(nd_advert_sent)               /* a neighbour solicitation for a gateway address answered (not a drop) */         \
    X(nd_not_for_us)                /* a neighbour solicitation for an address the gateway does not answer for */      \
    X(nd_invalid)                   /* a neighbour discovery message RFC 4861 7.1 says to discard */                   \
    X(echo6_reply_sent)             /* an ICMPv6 echo request to a gateway address answered (not a drop) */         \
    X(nd_learned)                   /* a neighbour advertisement consumed into the IPv6 neighbour table */            \
    X(ip6_link_local)               /* from or to a link-local address: never forwarded off its link (RFC 4291) */     \
    X(packet_too_big_sent)          /* IPv6 longer than the egress link's ipv6MTU: answered with Packet Too Big */

enum class Reason : uint8_t {
#define NFGATE_REASON_ENUM(name) name,
    NFGATE_ENGINE_REASONS(NFGATE_REASON_ENUM)
#undef NFGATE_REASON_ENUM
    count_
};

inline constexpr size_t kReasonCount = static_cast<size_t>(Reason::count_);

inline constexpr std::array<std::string_view, kReasonCount> kReasonNames = {
#define NFGATE_REASON_NAME(name) #name,
    NFGATE_ENGINE_REASONS(NFGATE_REASON_NAME)
#undef NFGATE_REASON_NAME
};

constexpr std::string_view reason_name(Reason r) { return kReasonNames[static_cast<size_t>(r)]; }

// True when the packet was answered (left as a generated reply) rather than dropped.
constexpr bool reason_sends_reply(Reason r) {
    return r == Reason::arp_reply_sent || r == Reason::echo_reply_sent ||
           r == Reason::ttl_exceeded_sent || r == Reason::reset_sent ||
           r == Reason::port_unreachable_sent;
}

}  // namespace nfgate::engine

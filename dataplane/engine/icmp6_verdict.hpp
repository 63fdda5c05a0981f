// What neighbour discovery (ndp.hpp) and the ICMPv6 answers (icmp6_answer.hpp) made of a
// message: answered, read, or the rule it broke. Kept apart from drop_reasons.hpp until the
// worker handles IPv6; each value then maps to one engine Reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nfgate::engine {

// One list: the enum and the name table are both generated from it (as drop_reasons.hpp).
#define NFGATE_ICMP6_VERDICTS(X)                                                                           \
    X(answered)              /* the mbuf now holds the answer to send back out the input port */            \
    X(read)                  /* a valid advertisement, read into the caller's struct */                     \
    X(not_for_us)            /* a valid solicitation for an address the gateway does not answer for */      \
    X(malformed)             /* not Ethernet + IPv6 (+ ICMPv6 where one is read) whole in the first segment */ \
    X(wrong_type)                                                                                           \
    X(bad_hop_limit)         /* neighbour discovery from beyond the link (RFC 4861 7.1) */                  \
    X(bad_code)                                                                                             \
    X(too_short)             /* shorter than the message's fixed part */                                    \
    X(bad_checksum)                                                                                         \
    X(multicast_target)                                                                                     \
    X(dad_not_to_solicited_node) /* unspecified source, destination not solicited-node multicast */         \
    X(dad_with_source_lladdr)    /* unspecified source with a source link-layer address option */           \
    X(bad_option_length)     /* an option of length 0, or one running past the message */                   \
    X(solicited_to_multicast) /* advertisement to a multicast address with the Solicited flag */            \
    X(not_answerable)        /* RFC 4443 2.4 (e): no ICMPv6 answer to this packet */                        \
    X(no_room)               /* the mbuf cannot hold the answer */

enum class Icmp6Verdict : uint8_t {
#define NFGATE_ICMP6_VERDICT_ENUM(name) name,
    NFGATE_ICMP6_VERDICTS(NFGATE_ICMP6_VERDICT_ENUM)
#undef NFGATE_ICMP6_VERDICT_ENUM
    count_
};

inline constexpr std::array<std::string_view, static_cast<size_t>(Icmp6Verdict::count_)> kIcmp6VerdictNames = {
#define NFGATE_ICMP6_VERDICT_NAME(name) #name,
    NFGATE_ICMP6_VERDICTS(NFGATE_ICMP6_VERDICT_NAME)
#undef NFGATE_ICMP6_VERDICT_NAME
};

constexpr std::string_view icmp6_verdict_name(Icmp6Verdict v) { return kIcmp6VerdictNames[static_cast<size_t>(v)]; }

}  // namespace nfgate::engine

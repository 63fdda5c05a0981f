// The nftables objects nfgate installs, as plain values: what nft_render.cpp produces from a
// Model, what nft_text.cpp prints and what nft_batch.cpp lowers to libnftnl. Every rule is a
// list of high-level expressions; each one has exactly one text form and one bytecode form,
// so the golden text and the kernel's listing describe the same thing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/model.hpp"

namespace nfgate::nft {

inline constexpr const char* kTableName = "nfgate";

// The packet mark bit that asks postrouting to masquerade (kube-proxy uses the same bit).
inline constexpr uint32_t kMasqueradeMark = 0x4000;

// The table's family: `ip nfgate` serves IPv4, `ip6 nfgate` the same Services' IPv6 half,
// rendered by the same code. Every address in a ruleset is of its family.
enum class Family : uint8_t { ip, ip6 };

// An address in a rule or an element: the model's host-order IPv4 value in an `ip` ruleset,
// the IPv6 address as the packet holds it in an `ip6` one (the other half stays zero).
struct Addr {
    uint32_t v4 = 0;
    Ip6 v6{};
    Addr() = default;
    Addr(uint32_t a) : v4(a) {}  // NOLINT: an IPv4 address is an Addr
    Addr(const Ip6& a) : v6(a) {}  // NOLINT: so is an IPv6 one
    bool operator==(const Addr&) const = default;
    auto operator<=>(const Addr&) const = default;
};

// A hash of either family's address (or of an Addr), for the control plane's hash tables (open
// addressing takes its low bits): every bit of the address reaches every bit of the hash
// (MurmurHash3's 64-bit finalizer), so addresses of one prefix, which differ only in their last
// bytes, spread as well as any.
struct AddrHash {
    static uint64_t mix(uint64_t x) noexcept {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        return x ^ (x >> 33);
    }
    size_t operator()(uint32_t a) const noexcept { return mix(a); }
    size_t operator()(const Ip6& a) const noexcept {
        uint64_t w[2];
        static_assert(sizeof w == sizeof a.b);
        __builtin_memcpy(w, a.b.data(), 16);
        return mix(w[0] ^ mix(w[1]));
    }
    size_t operator()(const Addr& a) const noexcept { return (*this)(a.v4) ^ (*this)(a.v6); }
};

// A prefix of the ruleset's family (len: 0..32 or 0..128).
struct AddrCidr {
    Addr addr;
    uint8_t len = 0;
    AddrCidr() = default;
    AddrCidr(const Cidr& c) : addr(c.addr), len(c.len) {}  // NOLINT
    AddrCidr(const Cidr6& c) : addr(c.addr), len(c.len) {}  // NOLINT
    bool operator==(const AddrCidr&) const = default;
};

// saddr_daddr: the concatenation ip saddr . ip daddr (set lookups only).
enum class Field : uint8_t { saddr, daddr, saddr_daddr };

// ip saddr 10.0.0.0/8  |  ip saddr != 10.0.0.0/8
struct MatchCidr {
    Field field = Field::saddr;
    AddrCidr cidr;
    bool negate = false;
    bool operator==(const MatchCidr&) const = default;
};
// ip daddr @set
struct MatchSet {
    Field field = Field::daddr;
    std::string set;
    bool operator==(const MatchSet&) const = default;
};
// meta l4proto tcp
struct MatchL4proto {
    Proto proto = Proto::tcp;
    bool operator==(const MatchL4proto&) const = default;
};
// meta mark & 0x4000 == 0x4000
struct MatchMarkBit {
    uint32_t bit = kMasqueradeMark;
    bool operator==(const MatchMarkBit&) const = default;
};
// ct status dnat
struct MatchCtDnat {
    bool operator==(const MatchCtDnat&) const = default;
};
// ct state != new
struct MatchCtNotNew {
    bool operator==(const MatchCtNotNew&) const = default;
};
// ct original ip daddr . meta l4proto . ct original proto-dst @set: the connection's frontend
// (both directions, after NAT); a set with counters counts the packet in the matching element.
// nft's parser takes it only after a `meta l4proto` match.
struct MatchCtFrontend {
    std::string set;
    bool operator==(const MatchCtFrontend&) const = default;
};
// ct state invalid,untracked  |  ct state new: any of the states in `mask` (kCtState* bits)
inline constexpr uint32_t kCtStateInvalid = 0x01;
inline constexpr uint32_t kCtStateNew = 0x08;
inline constexpr uint32_t kCtStateUntracked = 0x40;
struct MatchCtState {
    uint32_t mask = kCtStateNew;
    bool operator==(const MatchCtState&) const = default;
};
// tcp flags & (fin|syn|rst|ack) == syn: a connection's first segment (nft adds the meta
// l4proto tcp dependency itself, so the lowering carries it too)
struct MatchTcpSyn {
    bool operator==(const MatchTcpSyn&) const = default;
};
// ip daddr . tcp dport @set, without the l4proto check: a rule puts MatchTcpSyn or
// MatchL4proto{tcp} before it, as nft needs the protocol known first
struct MatchTcpFrontend {
    std::string set;
    bool operator==(const MatchTcpFrontend&) const = default;
};
// numgen random mod N 0: true with probability 1/N, a fresh draw on every evaluation
struct MatchNumgen {
    uint32_t mod = 1;
    bool operator==(const MatchNumgen&) const = default;
};
// ip daddr . meta l4proto . th dport vmap @map
struct VmapAddrProtoPort {
    std::string map;
    bool operator==(const VmapAddrProtoPort&) const = default;
};
// meta l4proto . th dport vmap @map
struct VmapProtoPort {
    std::string map;
    bool operator==(const VmapProtoPort&) const = default;
};
// meta mark set meta mark | bit   (on)   /   meta mark set meta mark & ~bit   (off)
struct SetMarkBit {
    uint32_t bit = kMasqueradeMark;
    bool on = true;
    bool operator==(const SetMarkBit&) const = default;
};
// update @map { ip saddr : ip . port }: remember the endpoint chosen for this client
struct UpdateAffinity {
    std::string map;
    Addr ip;
    uint16_t port = 0;
    bool operator==(const UpdateAffinity&) const = default;
};
// dnat ip to ip daddr . meta l4proto . th dport . jhash ip saddr . th sport mod N seed 0x0 map @map:
// an even choice among N endpoints in one rule, through the map of every service address's
// endpoints; a hash of the client's address and port with a fixed seed, so every gateway with
// the same endpoints picks the same one for a connection (a gateway that takes a connection over
// mid-stream, nf_conntrack_tcp_loose, sends it to the endpoint it already had)
struct DnatEndpointMap {
    std::string map;
    uint32_t count = 1;
    bool operator==(const DnatEndpointMap&) const = default;
};
// dnat ip to ip saddr map @map: a client remembered in the map goes back to its endpoint
struct DnatAffinity {
    std::string map;
    bool operator==(const DnatAffinity&) const = default;
};
// dnat to ip:port
struct Dnat {
    Addr ip;
    uint16_t port = 0;
    bool operator==(const Dnat&) const = default;
};
// notrack: the packet creates no conntrack entry
struct Notrack {
    bool operator==(const Notrack&) const = default;
};
// synproxy mss M: answer a SYN with a SYN cookie, open the connection to the destination once
// the client's ACK carries a valid one
struct SynProxy {
    uint16_t mss = 1460;
    bool operator==(const SynProxy&) const = default;
};
// update @set { ip saddr limit rate over N/second burst B packets }: true when the source
// address opened more than its rate (each source keeps its own token bucket in the element)
struct LimitPerSource {
    std::string set;
    uint32_t rate = 0;
    uint32_t burst = 0;
    bool operator==(const LimitPerSource&) const = default;
};
// counter name "x": adds the packet to the named counter object x
struct CounterRef {
    std::string name;
    bool operator==(const CounterRef&) const = default;
};
struct Masquerade {
    bool operator==(const Masquerade&) const = default;
};
// reject with tcp reset  |  reject (ICMP port unreachable)
struct Reject {
    bool tcp_reset = false;
    bool operator==(const Reject&) const = default;
};
// comment "text": the rule's user data (nft's comment TLV), no expression of its own
struct Comment {
    std::string text;
    bool operator==(const Comment&) const = default;
};
struct Verdict {
    enum class Kind : uint8_t { accept, drop, ret, jump, go };
    Kind kind = Kind::accept;
    std::string chain;  // jump / goto only
    bool operator==(const Verdict&) const = default;
};

using Expr = std::variant<MatchCidr, MatchSet, MatchL4proto, MatchMarkBit, MatchCtDnat, MatchCtNotNew, MatchCtFrontend, MatchNumgen,
                          VmapAddrProtoPort, VmapProtoPort, SetMarkBit, UpdateAffinity, Dnat, DnatEndpointMap, DnatAffinity,
                          Masquerade, Reject, Verdict, Comment, MatchCtState, MatchTcpSyn, MatchTcpFrontend, Notrack, SynProxy,
                          LimitPerSource, CounterRef>;

struct Rule {
    std::vector<Expr> exprs;
    bool operator==(const Rule&) const = default;
};

enum class ChainType : uint8_t { filter, nat };
enum class Hook : uint8_t { prerouting, input, forward, output, postrouting };

struct BaseHook {
    ChainType type = ChainType::filter;
    Hook hook = Hook::input;
    int32_t priority = 0;
    bool operator==(const BaseHook&) const = default;
};

struct Chain {
    std::string name;
    std::optional<BaseHook> base;  // empty: a regular chain reached by jump/goto/vmap
    std::vector<Rule> rules;
    bool operator==(const Chain&) const = default;
};

// The key a set or map is indexed by.
enum class KeyKind : uint8_t {
    addr,             // ipv4_addr (with timeout_s: a dynamic affinity map ipv4_addr : ipv4_addr . inet_service)
    addr_proto_port,  // ipv4_addr . inet_proto . inet_service
    proto_port,       // inet_proto . inet_service
    // ip daddr . meta l4proto . th dport . numgen : ip daddr . th dport, the endpoint map
    addr_proto_port_index,
    addr_pair,  // ipv4_addr . ipv4_addr: the element's addr . to.ip
    addr_port,  // ipv4_addr . inet_service (TCP frontends: the element's addr . port)
};

struct SetElem {
    Addr addr;
    Proto proto = Proto::tcp;
    uint16_t port = 0;
    uint32_t index = 0;      // endpoint map: the numgen value
    std::string goto_chain;  // verdict maps: the verdict is "goto goto_chain"
    BasicEndpoint<Addr> to;  // endpoint map: the value
    bool operator==(const SetElem&) const = default;
    auto operator<=>(const SetElem&) const = default;
};

struct Set {
    std::string name;
    KeyKind key = KeyKind::addr;
    bool verdict_map = false;
    uint32_t timeout_s = 0;  // non-zero: a dynamic client -> endpoint map filled by "update"
    std::vector<SetElem> elems;
    uint32_t size = 0;  // non-zero: the kernel sizes its hash table for this many (and refuses more)
    bool counter = false;  // a packet/byte counter per element, counted when a lookup matches it
    // With timeout_s and no data: a set the rules fill themselves (flags dynamic,timeout), each
    // element carrying the state of the rule's per-element expression (LimitPerSource).
    bool meter = false;
    bool operator==(const Set&) const = default;

    // Same kind of object (key, type, timeout, size): only the elements may differ.
    bool same_definition(const Set& o) const {
        return name == o.name && key == o.key && verdict_map == o.verdict_map && timeout_s == o.timeout_s &&
               size == o.size && counter == o.counter && meter == o.meter;
    }
};

struct Ruleset {
    std::string table = kTableName;
    Family family = Family::ip;
    std::vector<std::string> counters;  // named counter objects (CounterRef)
    std::vector<Set> sets;
    std::vector<Chain> chains;
    bool operator==(const Ruleset&) const = default;
};

}  // namespace nfgate::nft

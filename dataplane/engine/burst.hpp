// process_burst: the worker's per-burst pipeline, in the l3fwd shape. Stages over the burst:
//   1. classify: parse L2/L3/L4, build the flow key (packets that cannot be tracked call out)
//   2. lookup:   one bulk conntrack lookup for every key
//   3. rewrite:  established flows: state update + NAT with the flow's precomputed checksum
//                deltas (misses call out to the new-flow path)
//   4. forward:  route, neighbour, L2 rewrite, TTL, tx
// Established flows are the straight line; every other case is a call-out in slow_path.hpp.
// IPv6 packets of trackable flows take the same stages in lanes of their own (burst6.hpp).
#pragma once

#include <rte_prefetch.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <utility>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "dataplane/engine/arp.hpp"
#include "dataplane/engine/engine_state.hpp"
#include "dataplane/engine/nat_rewrite.hpp"
#include "dataplane/engine/fragment_table.hpp"
#include "dataplane/engine/packet_io.hpp"
#include "dataplane/engine/packet_parse.hpp"
#include "dataplane/engine/slow_path.hpp"
#include "dataplane/engine/syn_proxy.hpp"

namespace nfgate::engine {

// The IP header step of forward(): TTL - 1 (RFC 1812 5.3.1) plus any address delta, applied to
// the header checksum once. For TTL >= 1 the decrement's RFC 1624 term ~old + new is the same
// for every packet: the (TTL, protocol) word only loses 0x0100, so ~old + (old - 0x0100) = 0xfeff.
inline void forward_ip_csum(rte_ipv4_hdr* ip, net::CsumDelta addr_delta) {
    if (ip->time_to_live == 0) [[unlikely]] {
        const uint16_t old_word = rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id));
        --ip->time_to_live;
        addr_delta.add16(old_word, rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id)));
    } else {
        --ip->time_to_live;
        addr_delta.sum += RTE_BE16(0xfeff);
    }
    ip->hdr_checksum = net::csum_apply(ip->hdr_checksum, addr_delta);
}

// Sends the worker's parked packets (both families) whose next hop is now known and drops
// those that waited too long (neighbour_wait.hpp). The burst calls it; the worker loop's
// housekeeping too, so a wait runs out even when no traffic arrives.
inline bool any_waiting(const WorkerContext& w) { return !w.waiting.empty() || (w.v6 != nullptr && !w.v6->waiting.empty()); }

template <class Io>
void release_waiting(WorkerContext& w, const ServiceTable& st, Io& io, uint64_t now_ns, BurstCounters& counters) {
    const auto send = [&](uint16_t port, const rte_ether_addr& mac, rte_mbuf* m) {
        auto* eth = eth_of(m);
        eth->dst_addr = mac;
        eth->src_addr = st.ifaces()[port].mac;
        io.tx(port, m);
    };
    const auto expire = [&](rte_mbuf* m) {
        counters.count(Reason::neighbour_queue_timeout);
        io.drop(m);
    };
    w.waiting.release(w.shared.neighbours(), now_ns, send, expire);
    if (w.v6 != nullptr) w.v6->waiting.release(w.shared.neighbours6(), now_ns, send, expire);
}

namespace burst_detail {

inline constexpr unsigned kPrefetchAhead = 4;  // packets whose headers load while one is parsed

using Lane = BurstScratch::Lane;

// Writes the flow key as its two 64-bit words. Building it field by field and copying it
// would make the copy's 16-byte load wait on four narrower stores (a store-forwarding stall
// that cost more than the rest of classification).
static_assert(offsetof(ct::FlowKey, dst_ip) == 4 && offsetof(ct::FlowKey, src_port) == 8 &&
                  offsetof(ct::FlowKey, dst_port) == 10 && offsetof(ct::FlowKey, proto) == 12,
              "store_key writes FlowKey as two little-endian words");
inline void store_key(ct::FlowKey& k, const PacketMeta& pm) {
    const uint64_t w0 = uint64_t{pm.src} | uint64_t{pm.dst} << 32;
    const uint64_t w1 = uint64_t{pm.sport} | uint64_t{pm.dport} << 16 | uint64_t{pm.proto} << 32;
    std::memcpy(reinterpret_cast<char*>(&k), &w0, 8);
    std::memcpy(reinterpret_cast<char*>(&k) + 8, &w1, 8);
}

template <class Io>
class Burst {
public:
    Burst(WorkerContext& w, const ServiceTable& st, Io& io, SlowCtx& slow)
        : w_(w), s_(w.scratch), st_(st), io_(io), slow_(slow) {}

    void run(std::span<rte_mbuf*> pkts) {
        classify(pkts);
        const uint64_t hits = w_.flows.lookup_bulk(s_.keys, n_keys_, s_.refs);
        rewrite(hits);
        if (n_keys6_ != 0) rewrite6();
        later_fragments();
        forward();
        if (n_fwd6_ != 0) forward6();
    }

private:
    void classify(std::span<rte_mbuf*> pkts) {
        const unsigned n = static_cast<unsigned>(pkts.size());
        const rte_ether_addr in_mac = st_.ifaces()[slow_.in_port].mac;
        for (unsigned i = 0; i < std::min(kPrefetchAhead, n); ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
        for (unsigned i = 0; i < n; ++i) {
            if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
            Lane& lane = s_.lanes[i];
            lane.m = pkts[i];
            lane.pm = PacketMeta{};
            lane.ip_delta = net::CsumDelta{};
            Reason why{};
            const L3Kind kind = classify_l2(lane.m, why);
            if (kind == L3Kind::ipv6 && classify6(i, in_mac)) continue;
            if (kind == L3Kind::ipv4 && !rte_is_same_ether_addr(&eth_of(lane.m)->dst_addr, &in_mac)) {
                slow_.counters.count(Reason::eth_not_for_us);
                io_.drop(lane.m);
                continue;
            }
            if (kind != L3Kind::ipv4 || !parse_ipv4_packet(lane.m, lane.pm, why)) {
                dispatch(on_not_ipv4(slow_, lane.m, kind, why), i);
                continue;
            }
            if (needs_untracked_path(lane.pm, st_) && !first_fragment_tracked(lane.pm)) {
                if (lane.pm.later_fragment) [[unlikely]] {
                    later_frag_lane_[n_later_frags_++] = static_cast<uint8_t>(i);
                    continue;
                }
                dispatch(on_untracked(slow_, lane.m, lane.pm, lane.ip_delta), i);
                continue;
            }
            store_key(s_.keys[n_keys_], lane.pm);
            s_.key_lane[n_keys_++] = static_cast<uint8_t>(i);
        }
    }

    void rewrite(uint64_t hits) {
        for (unsigned k = 0; k < n_keys_; ++k) {
            const unsigned i = s_.key_lane[k];
            Lane& lane = s_.lanes[i];
            if (!(hits >> k & 1)) {
                dispatch(on_flow_miss(slow_, lane.m, lane.pm, lane.ip_delta), i);
                continue;
            }
            ct::FlowEntry& e = *s_.refs[k].entry;
            const ct::Dir d = s_.refs[k].dir;
            if (reopens(e, d, lane.pm.tcp_flags)) [[unlikely]] {
                // Linux kills a closed connection that a new SYN reopens and takes the SYN as a
                // new connection: its backend and SNAT are chosen again against the current
                // Services (the old backend may be gone).
                w_.flows.unlink(e);
                dispatch(on_flow_miss(slow_, lane.m, lane.pm, lane.ip_delta), i);
                continue;
            }
            if (e.flags.load(std::memory_order_relaxed) & ct::kFlowSynProxy) [[unlikely]] {
                if (!syn_proxy_step(e, d, lane, i)) continue;
            }
            if (ct::ConntrackTable::track(e, d, lane.pm.tcp_flags, slow_.now_s) == ct::TcpVerdict::invalid) {
                slow_.counters.count(Reason::tcp_invalid_state);
                io_.drop(lane.m);
                continue;
            }
            if (e.proto() == net::kProtoUdp && flow_kind(e.tag) == kFlowService && !udp_backend_ready(e)) {
                // kube-proxy clears the conntrack entries of a removed UDP endpoint: the next
                // datagram is balanced again, as a new flow, to a live backend.
                w_.flows.unlink(e);
                dispatch(on_flow_miss(slow_, lane.m, lane.pm, lane.ip_delta), i);
                continue;
            }
            rewrite_flow(lane.pm, e, d, lane.ip_delta);
            if (lane.pm.fragment) [[unlikely]]
                remember_first_fragment(w_.fragments, slow_.counters, s_.keys[k].src_ip, s_.keys[k].dst_ip,
                                        lane.pm.ip, slow_.now_ns);
            ++(flow_kind(e.tag) == kFlowPassthrough ? slow_.counters.forwarded_plain : slow_.counters.forwarded_nat);
            w_.frontends.packet(flow_slot(e.tag), rte_be_to_cpu_16(lane.pm.ip->total_length));
            s_.fwd_lane[n_fwd_++] = static_cast<uint8_t>(i);
        }
    }

    // A flow the SYN proxy opened (syn_proxy.hpp), before its state is tracked: false when the
    // packet is done with here (dropped, or the backend's SYN-ACK turned into the ACK back to it
    // and queued to forward).
    bool syn_proxy_step(ct::FlowEntry& e, ct::Dir d, Lane& lane, unsigned i) {
        switch (syn_proxy_hit<ct::ConntrackTable>(e, d, lane.m, lane.pm, slow_.now_s, slow_.counters)) {
            case ProxyHit::go_on: return true;
            case ProxyHit::forward_as_is: s_.fwd_lane[n_fwd_++] = static_cast<uint8_t>(i); return false;
            case ProxyHit::drop: break;
        }
        io_.drop(lane.m);
        return false;
    }

    // A client's SYN (no ACK) on a flow that is closing or closed (TIME_WAIT, CLOSE).
    static bool reopens(const ct::FlowEntry& e, ct::Dir d, uint8_t tcp_flags) {
        if (e.proto() != net::kProtoTcp || d != ct::Dir::orig ||
            (tcp_flags & (net::kTcpSyn | net::kTcpAck | net::kTcpRst)) != net::kTcpSyn)
            return false;
        const ct::TcpState st = e.tcp_state();
        return st == ct::TcpState::time_wait || st == ct::TcpState::close;
    }

    // The flow's backend (its reply source) must still be a serving endpoint of the service port
    // the client addressed (its original destination), not merely of some Service. A terminating
    // endpoint that still serves keeps its flows, as with kube-proxy.
    bool udp_backend_ready(const ct::FlowEntry& e) const {
        const ct::FlowKey& o = e.key_of(ct::Dir::orig);
        const ct::FlowKey& r = e.key_of(ct::Dir::reply);
        return st_.serves(rte_be_to_cpu_32(o.dst_ip), net::kProtoUdp, rte_be_to_cpu_16(o.dst_port),
                          rte_be_to_cpu_32(r.src_ip), rte_be_to_cpu_16(r.src_port));
    }

    // Later fragments wait until the first fragments of this burst have recorded their
    // translation (fragment_table.hpp).
    void later_fragments() {
        for (unsigned f = 0; f < n_later_frags_; ++f) {
            Lane& lane = s_.lanes[later_frag_lane_[f]];
            dispatch(on_untracked(slow_, lane.m, lane.pm, lane.ip_delta), later_frag_lane_[f]);
        }
    }

    void dispatch(Fate f, unsigned lane) {
        switch (f) {
            case Fate::forward: s_.fwd_lane[n_fwd_++] = static_cast<uint8_t>(lane); break;
            case Fate::answer: io_.tx(slow_.in_port, s_.lanes[lane].m); break;
            case Fate::routed: io_.tx(slow_.out_port, s_.lanes[lane].m); break;
            case Fate::parked:
                if (slow_.solicitation != nullptr) io_.tx(slow_.out_port, std::exchange(slow_.solicitation, nullptr));
                break;
            case Fate::drop: io_.drop(s_.lanes[lane].m); break;
            case Fate::kernel: {
                const Reason r = w_.exceptions.push(slow_.in_port, s_.lanes[lane].m, slow_.now_ns);
                slow_.counters.count(r);
                if (r != Reason::exception_to_kernel) io_.drop(s_.lanes[lane].m);
                break;
            }
        }
    }

    // Consecutive packets often share a destination or a next hop (everything toward the
    // default router): each level is looked up only when it changes, and a destination seen in
    // an earlier burst comes from the worker's next-hop cache.
    void forward() {
        if (any_waiting(w_)) [[unlikely]]
            release_waiting(w_, st_, io_, slow_.now_ns, slow_.counters);
        if (n_fwd_ == 0) return;
        w_.next_hops.sync(st_.generation(), w_.shared.neighbours().version());
        uint32_t cached_dst = 0, cached_hop = 0;
        bool dst_ok = false, hop_ok = false;
        NextHop nh{};
        rte_ether_addr mac{};
        for (unsigned f = 0; f < n_fwd_; ++f) {
            Lane& lane = s_.lanes[s_.fwd_lane[f]];
            if (!dst_ok || lane.pm.dst != cached_dst) {
                cached_dst = lane.pm.dst;
                if (const NextHopCache::Entry* c = w_.next_hops.find(cached_dst)) {
                    nh.port = c->port;
                    mac = c->mac;
                    dst_ok = true;
                    hop_ok = false;  // `mac` no longer belongs to cached_hop
                } else if (!resolve(cached_dst, nh, mac, cached_hop, hop_ok)) {
                    dst_ok = false;
                    unresolved(lane, rte_be_to_cpu_32(cached_dst));
                    continue;
                } else {
                    dst_ok = true;
                }
            }
            auto* eth = eth_of(lane.m);
            eth->dst_addr = mac;
            eth->src_addr = st_.ifaces()[nh.port].mac;
            forward_ip_csum(lane.pm.ip, lane.ip_delta);
            io_.tx(nh.port, lane.m);
        }
    }

    // Route and neighbour lookup for `dst_be`; the neighbour is asked only when the next hop
    // differs from the previous one. A resolved destination is remembered for later bursts.
    bool resolve(uint32_t dst_be, NextHop& nh, rte_ether_addr& mac, uint32_t& cached_hop, bool& hop_ok) {
        const uint32_t dst = rte_be_to_cpu_32(dst_be);
        if (!st_.routes().lookup(dst, nh)) return false;
        const uint32_t hop = RouteTable::arp_target(dst, nh);
        if (!hop_ok || hop != cached_hop) {
            cached_hop = hop;
            hop_ok = w_.shared.neighbours().lookup(hop, mac, slow_.now_s);
        }
        if (!hop_ok) return false;
        w_.next_hops.remember(dst_be, nh.port, mac);
        return true;
    }

    // No route: dropped. The next hop's MAC not known yet: the packet, complete but for its
    // Ethernet header, waits in the worker's NeighbourWait while a (rate-limited) ARP request
    // asks for it; without room to wait it is dropped and its mbuf carries the request instead.
    void unresolved(Lane& lane, uint32_t dst) {
        NextHop nh;
        if (!st_.routes().lookup(dst, nh)) {
            slow_.counters.count(Reason::no_route);
            io_.drop(lane.m);
            return;
        }
        const uint32_t target = RouteTable::arp_target(dst, nh);
        const bool ask = w_.arp_limiter.should_request(target, slow_.now_ns);
        forward_ip_csum(lane.pm.ip, lane.ip_delta);
        if (w_.waiting.park(target, nh.port, lane.m, slow_.now_ns)) {
            rte_mbuf* req = ask ? rte_pktmbuf_alloc(lane.m->pool) : nullptr;
            if (req != nullptr) {
                build_arp_request(req, st_.ifaces()[nh.port], target);
                io_.tx(nh.port, req);
            }
            return;
        }
        slow_.counters.count(Reason::neighbour_unresolved);
        if (ask) {
            build_arp_request(lane.m, st_.ifaces()[nh.port], target);
            io_.tx(nh.port, lane.m);
            return;
        }
        io_.drop(lane.m);
    }

    // The IPv6 lanes, the same stages over the IPv6 flow table (burst6.hpp).
    // Out of line: the IPv4 classification loop stays as tight as it was.
    [[gnu::noinline]] bool classify6(unsigned i, const rte_ether_addr& in_mac);
    void rewrite6();
    void forward6();

    WorkerContext& w_;
    BurstScratch& s_;
    const ServiceTable& st_;
    Io& io_;
    SlowCtx& slow_;
    unsigned n_keys_ = 0;
    unsigned n_fwd_ = 0;
    unsigned n_later_frags_ = 0;
    unsigned n_keys6_ = 0;
    unsigned n_fwd6_ = 0;
    uint8_t later_frag_lane_[BurstScratch::kChunk];
};

}  // namespace burst_detail

}  // namespace nfgate::engine

#include "dataplane/engine/burst6.hpp"

namespace nfgate::engine {

// Processes one received burst on `in_port`; the contract is in worker.hpp.
template <PacketIo Io>
void process_burst(WorkerContext& ctx, const ServiceTable& st, Io& io, uint16_t in_port, std::span<rte_mbuf*> pkts,
                   uint64_t now_ns) {
    BurstCounters bc;
    bc.rx = static_cast<uint32_t>(pkts.size());
    SlowCtx slow{ctx, st, in_port, now_ns, static_cast<uint32_t>(now_ns / 1'000'000'000), bc};
    for (size_t off = 0; off < pkts.size(); off += BurstScratch::kChunk) {
        const size_t len = std::min<size_t>(BurstScratch::kChunk, pkts.size() - off);
        burst_detail::Burst<Io>(ctx, st, io, slow).run(pkts.subspan(off, len));
    }
    ctx.stats.add(bc);
}

}  // namespace nfgate::engine

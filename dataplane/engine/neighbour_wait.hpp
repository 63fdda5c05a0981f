// Packets waiting for their next hop's MAC, per worker. Linux queues a few packets per
// unresolved neighbour (unres_qlen) so the first packet to a new host is not lost to the ARP
// exchange (which would cost a TCP SYN a one-second retransmit). A parked packet is complete but
// for its Ethernet addresses (NAT, TTL and checksums are done); the worker sends it as soon as
// the neighbour table knows the hop, or drops it after kWaitNs. One template for both families:
// IPv4 waits for ARP (hops in host order), IPv6 for neighbour discovery.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "model/ip6.hpp"

namespace nfgate::engine {

template <class Addr>
class BasicNeighbourWait {
public:
    static constexpr unsigned kHops = 16;   // neighbours waited for at once
    static constexpr unsigned kPerHop = 4;  // packets per neighbour
    static constexpr uint64_t kWaitNs = 1'000'000'000;

    BasicNeighbourWait() = default;
    BasicNeighbourWait(const BasicNeighbourWait&) = delete;
    BasicNeighbourWait& operator=(const BasicNeighbourWait&) = delete;
    ~BasicNeighbourWait() {
        for (Hop& h : hops_)
            for (unsigned i = 0; i < h.count; ++i) rte_pktmbuf_free(h.pkts[i]);
    }

    // Takes `m` to wait for `hop` on `port`; false leaves it to the caller (no room).
    bool park(const Addr& hop, uint16_t port, rte_mbuf* m, uint64_t now_ns) {
        Hop* free_hop = nullptr;
        for (Hop& h : hops_) {
            if (h.count != 0 && h.ip == hop && h.port == port) {
                if (h.count == kPerHop) return false;
                h.pkts[h.count++] = m;
                return true;
            }
            if (h.count == 0 && free_hop == nullptr) free_hop = &h;
        }
        if (free_hop == nullptr) return false;
        *free_hop = Hop{hop, port, 1, now_ns + kWaitNs, {m}};
        ++waiting_;
        deadline_ns_ = std::min(deadline_ns_, free_hop->deadline_ns);
        return true;
    }

    bool empty() const { return waiting_ == 0; }

    // Sends the packets whose hop the table now knows (`send(port, mac, m)`) and gives up those
    // that waited too long (`expire(m)`). Looks only when the table changed or a wait ran out.
    template <class Table, class Send, class Expire>
    void release(const Table& table, uint64_t now_ns, Send&& send, Expire&& expire) {
        const uint64_t version = table.version();
        if (waiting_ == 0 || (version == seen_version_ && now_ns < deadline_ns_)) return;
        seen_version_ = version;
        deadline_ns_ = UINT64_MAX;
        for (Hop& h : hops_) {
            if (h.count == 0) continue;
            rte_ether_addr mac;
            const bool known = table.lookup(h.ip, mac);
            if (!known && now_ns < h.deadline_ns) {
                deadline_ns_ = std::min(deadline_ns_, h.deadline_ns);
                continue;
            }
            for (unsigned i = 0; i < h.count; ++i) {
                if (known) send(h.port, mac, h.pkts[i]);
                else expire(h.pkts[i]);
            }
            h.count = 0;
            --waiting_;
        }
    }

private:
    struct Hop {
        Addr ip{};
        uint16_t port = 0;
        uint8_t count = 0;  // 0: free
        uint64_t deadline_ns = 0;
        std::array<rte_mbuf*, kPerHop> pkts{};
    };
    std::array<Hop, kHops> hops_{};
    unsigned waiting_ = 0;  // hops in use
    uint64_t seen_version_ = UINT64_MAX;
    uint64_t deadline_ns_ = UINT64_MAX;  // the earliest wait that runs out
};

using NeighbourWait = BasicNeighbourWait<uint32_t>;
using NeighbourWait6 = BasicNeighbourWait<Ip6>;

}  // namespace nfgate::engine

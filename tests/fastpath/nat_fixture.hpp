// A fast path started in-process on two net_ring ports ("ext" 192.0.2.1/24 and "pods"
// 10.244.0.1/16) with one ClusterIP Service, plus the helpers a NAT test needs: send a frame in,
// wait for what comes out, answer the ARP requests the gateway sends on the way.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "model/model.hpp"
#include "dataplane/fast_path.hpp"
#include "tests/engine/packet_builder.hpp"
#include "tests/fastpath/ring_ports.hpp"

namespace nfgate::test {

inline constexpr uint16_t kExt = 0;   // interface index of "ext"
inline constexpr uint16_t kPods = 1;  // interface index of "pods"

// The Model under test: Service default/web, ClusterIP 10.96.0.10:80/TCP and 53/UDP, endpoints
// as given (10.244.1.x:8080 for TCP, :5353 for UDP).
Model nat_model(unsigned workers, const std::vector<const char*>& endpoints);

// A neighbour's MAC, made from its address so answers and checks agree without a table.
rte_ether_addr host_mac(uint32_t ip);

class NatBench {
public:
    NatBench(const std::string& prefix, unsigned queues);
    ~NatBench();

    // `m` with its interfaces set to this bench's ring ports.
    Model with_ports(Model m) const;

    // Starts the fast path on the ring ports (with_ports(m)); false with the error on failure. What the
    // gateway sends on its own at start (gratuitous ARP) is kept in announcements().
    bool start(const Model& m, std::string& err);
    fastpath::FastPath& fast_path() { return *fp_; }
    void stop();

    // The gateway's MAC on interface `iface` (read from the port).
    rte_ether_addr gateway_mac(uint16_t iface) const;

    // Injects `p` (eth dst set to the gateway's MAC on `iface`) on `iface`'s RX queue `queue`
    // and returns the first frame the gateway transmits, answering ARP requests for neighbours
    // and re-sending `p` while the gateway learns them (or stays silent). nullopt after 6 tries.
    struct Sent {
        uint16_t iface;
        Out out;
    };
    std::optional<Sent> send(uint16_t iface, Pkt p, unsigned queue = 0);

    // Every frame transmitted within `wait`, with the interface it left on.
    std::vector<Sent> collect(std::chrono::milliseconds wait);

    const std::vector<Sent>& announcements() const { return announcements_; }

private:
    std::optional<Sent> wait_one(std::chrono::milliseconds patience);
    void answer_arp(uint16_t iface, const Out& request, unsigned queue);
    void inject(uint16_t iface, const std::vector<uint8_t>& frame, unsigned queue);

    rte_mempool* pool_ = nullptr;
    std::unique_ptr<RingPort> ports_[2];
    std::unique_ptr<fastpath::FastPath> fp_;
    std::vector<Sent> announcements_;
};

}  // namespace nfgate::test

// Test ports made of rte_rings (net_ring PMD): the test enqueues into a port's RX rings and
// dequeues what the worker sent from its TX rings, so the real worker loop runs without NICs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

namespace nfgate::test {

// Initialises EAL once per process with `args` (argv[0] added). Aborts the test binary on
// failure: nothing else can run without it.
void init_test_eal(const std::vector<std::string>& args);

class RingPort {
public:
    // Creates an ethdev named `name` with `queues` RX and TX rings of `ring_size` slots.
    RingPort(const std::string& name, unsigned queues, unsigned ring_size = 4096);
    ~RingPort();
    RingPort(const RingPort&) = delete;
    RingPort& operator=(const RingPort&) = delete;

    const std::string& name() const { return name_; }
    // The ethdev's own name ("net_ring_<name>"): what a gateway file's `device` names.
    const std::string& device() const { return device_; }
    uint16_t port_id() const { return port_id_; }

    // Puts packets where the port's RX queue `q` will find them; returns how many fit.
    unsigned inject(unsigned q, rte_mbuf* const* pkts, unsigned n);
    // Takes what the worker transmitted on TX queue `q`.
    unsigned collect(unsigned q, rte_mbuf** pkts, unsigned max);
    // Everything transmitted on any queue so far.
    std::vector<rte_mbuf*> collect_all();
    // Frees every packet still in any ring (before the pool they came from goes away).
    void discard_all();
    // Packets still waiting in RX ring `q` (not yet taken by a worker).
    unsigned rx_pending(unsigned q) const;

private:
    std::string name_;
    std::string device_;
    uint16_t port_id_ = 0;
    std::vector<rte_ring*> rx_;
    std::vector<rte_ring*> tx_;
};

}  // namespace nfgate::test

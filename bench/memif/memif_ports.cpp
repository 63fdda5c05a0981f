#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "bench/memif/memif_gen.hpp"

namespace nfgate::memif {

namespace {

// 2048 descriptors: a burst of the gateway's replies and a full TX burst of ours fit with room.
constexpr uint16_t kDescriptors = 2048;

}  // namespace

bool open_port(const std::string& name, rte_mempool* pool, uint16_t& port, std::string& err) {
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) {
        err = "no port named " + name + " (give it with --vdev=" + name + ",role=client,socket=...)";
        return false;
    }
    rte_eth_conf conf{};
    int rc = rte_eth_dev_configure(port, 1, 1, &conf);
    uint16_t rx = kDescriptors, tx = kDescriptors;
    if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx, &tx);
    if (rc == 0) rc = rte_eth_rx_queue_setup(port, 0, rx, static_cast<unsigned>(rte_socket_id()), nullptr, pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(port, 0, tx, static_cast<unsigned>(rte_socket_id()), nullptr);
    if (rc == 0) rc = rte_eth_dev_start(port);
    if (rc != 0) {
        err = name + ": setup failed: " + rte_strerror(rc < 0 ? -rc : rc);
        return false;
    }
    return true;
}

bool wait_link_up(uint16_t port, double seconds) {
    const uint64_t deadline = rte_get_timer_cycles() + static_cast<uint64_t>(seconds * double(rte_get_timer_hz()));
    while (rte_get_timer_cycles() < deadline) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) return true;
        rte_delay_ms(10);
    }
    return false;
}

void close_port(uint16_t port) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
}

}  // namespace nfgate::memif

// DPDK ports and the packet pool: probe by devargs, one RX/TX queue pair per worker, link up.
#pragma once

#include <cstdint>
#include <string>

#include <rte_ether.h>
#include <rte_mempool.h>

namespace nfgate::port {

struct PortSizing {
    uint16_t queues = 1;       // one RX/TX pair per worker
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
};

// Finds the ethdev for `devargs`: a port that already exists under the devargs' name (first
// comma-separated field) is reused, otherwise the device is hot-plugged with rte_dev_probe.
// `field` names the config field for errors ("interfaces[0].device").
bool probe_port(const std::string& devargs, const std::string& field, uint16_t& port_id,
                std::string& err);

// Configures `queues` RX/TX queue pairs fed from `pool`, starts the port, sets promiscuous
// mode (where the driver has it) and link up, and reads the MAC address. A net_tap port's
// kernel side then gets a MAC of its own (tap_kernel_mac.hpp), so the TAP can be bridged.
bool start_port(uint16_t port_id, const PortSizing& sizing, rte_mempool* pool,
                const std::string& field, rte_ether_addr& mac, std::string& err);

// Stops and closes a started port; tolerates one that never started.
void close_port(uint16_t port_id);

// Number of mbufs a pool must hold so that every RX ring can be full, every TX ring and TX
// buffer can hold packets in flight, and every lcore cache can be full at once.
uint32_t pool_size_for(unsigned ports, const PortSizing& sizing, unsigned lcores,
                       unsigned burst, unsigned cache);

rte_mempool* create_packet_pool(uint32_t mbufs, unsigned cache, std::string& err);

}  // namespace nfgate::port

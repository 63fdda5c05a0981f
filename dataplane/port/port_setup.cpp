#include "dataplane/port/port_setup.hpp"

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/port/tap_kernel_mac.hpp"

namespace nfgate::port {

namespace {

std::string device_name(const std::string& devargs) {
    return devargs.substr(0, devargs.find(','));
}

std::string dpdk_error(int rc) {
    return rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

bool probe_port(const std::string& devargs, const std::string& field, uint16_t& port_id,
                std::string& err) {
    std::string name = device_name(devargs);
    if (name.empty()) {
        err = field + ": empty device; valid: devargs such as \"net_tap0,iface=nfg-ext\" or a PCI address";
        return false;
    }
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) == 0) return true;
    int rc = rte_dev_probe(devargs.c_str());
    if (rc < 0) {
        err = field + ": rte_dev_probe(\"" + devargs + "\") failed: " + dpdk_error(rc) +
              "; valid: devargs of an available driver (net_tap, net_ring, net_null, net_af_packet, "
              "net_af_xdp, or a PCI address bound to a DPDK driver)";
        return false;
    }
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
        err = field + ": device \"" + name + "\" was probed but created no ethdev port named so";
        return false;
    }
    return true;
}

bool start_port(uint16_t port_id, const PortSizing& sizing, rte_mempool* pool,
                const std::string& field, rte_ether_addr& mac, std::string& err) {
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(port_id, &info);
    if (rc != 0) {
        err = field + ": cannot read device info: " + dpdk_error(rc);
        return false;
    }
    if (sizing.queues > info.max_rx_queues || sizing.queues > info.max_tx_queues) {
        err = field + ": " + std::to_string(sizing.queues) + " workers need as many RX/TX queues but " +
              "the port has at most " + std::to_string(info.max_rx_queues) + " RX and " +
              std::to_string(info.max_tx_queues) + " TX queues; lower workers";
        return false;
    }
    rte_eth_conf conf{};
    rc = rte_eth_dev_configure(port_id, sizing.queues, sizing.queues, &conf);
    if (rc != 0) {
        err = field + ": rte_eth_dev_configure failed: " + dpdk_error(rc);
        return false;
    }
    uint16_t rx_desc = sizing.rx_desc, tx_desc = sizing.tx_desc;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
    if (rc != 0) {
        err = field + ": cannot fit descriptor counts: " + dpdk_error(rc);
        return false;
    }
    int socket = rte_eth_dev_socket_id(port_id);
    unsigned sock = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
    for (uint16_t q = 0; q < sizing.queues; ++q) {
        rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, sock, nullptr, pool);
        if (rc == 0) rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, sock, nullptr);
        if (rc != 0) {
            err = field + ": queue " + std::to_string(q) + " setup failed: " + dpdk_error(rc);
            return false;
        }
    }
    rc = rte_eth_dev_start(port_id);
    if (rc != 0) {
        err = field + ": rte_eth_dev_start failed: " + dpdk_error(rc);
        return false;
    }
    // Promiscuous mode and link-up are not offered by every driver (net_ring, net_null); where
    // they are missing the port still forwards, so their refusal is not an error.
    rte_eth_promiscuous_enable(port_id);
    rte_eth_dev_set_link_up(port_id);
    rc = rte_eth_macaddr_get(port_id, &mac);
    if (rc != 0) {
        err = field + ": cannot read the MAC address: " + dpdk_error(rc);
        return false;
    }
    // After the start and link-up, which put the port's MAC back on a TAP's kernel side.
    return separate_tap_kernel_mac(port_id, mac, field, err);
}

void close_port(uint16_t port_id) {
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
}

uint32_t pool_size_for(unsigned ports, const PortSizing& sizing, unsigned lcores, unsigned burst,
                       unsigned cache) {
    uint32_t rings = ports * sizing.queues * (uint32_t{sizing.rx_desc} + sizing.tx_desc);
    // Each worker holds a TX buffer per port plus the burst it is processing.
    uint32_t in_flight = sizing.queues * (ports + 1) * burst;
    uint32_t caches = lcores * cache;
    return rings + in_flight + caches + 1024;
}

rte_mempool* create_packet_pool(uint32_t mbufs, unsigned cache, std::string& err) {
    rte_mempool* pool = rte_pktmbuf_pool_create("nfgate_pkts", mbufs, cache, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (pool == nullptr)
        err = "eal: cannot allocate " + std::to_string(mbufs) + " packet buffers: " +
              rte_strerror(rte_errno) + "; give EAL more memory (-m) or fewer descriptors/ports";
    return pool;
}

}  // namespace nfgate::port

#include "dataplane/port/worker_set.hpp"

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

namespace nfgate::port {

WorkerSet::~WorkerSet() {
    stop();
    for (auto& p : plans_)
        for (unsigned i = 0; i < p.nb_ports; ++i) rte_free(p.tx_buffers[i]);
    if (control_tx_ != nullptr) {
        rte_mbuf* m;
        while (rte_ring_dequeue(control_tx_, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
        rte_ring_free(control_tx_);
    }
}

bool WorkerSet::send_from_control(uint16_t iface, rte_mbuf* m) {
    m->port = iface;
    return control_tx_ != nullptr && rte_ring_mp_enqueue(control_tx_, m) == 0;
}

bool WorkerSet::init(unsigned workers, std::span<const uint16_t> port_ids, rte_rcu_qsbr* qsv,
                     std::string& err) {
    if (port_ids.size() > kMaxPorts) {
        err = "interfaces: at most " + std::to_string(kMaxPorts) + " interfaces are supported, got " +
              std::to_string(port_ids.size());
        return false;
    }
    // Producers: the control thread (gratuitous ARP) and the exception path's mover (what the
    // kernel sends); single consumer (worker 0).
    control_tx_ = rte_ring_create("nfgate_control_tx", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (control_tx_ == nullptr) {
        err = "eal: cannot create the control hand-over ring; give EAL more memory (-m)";
        return false;
    }
    stats_ = std::make_unique<WorkerIoStats[]>(workers);
    plans_.resize(workers);
    const uint64_t drain = (rte_get_tsc_hz() + 999999) / 1000000 * kDrainMicroseconds;
    for (unsigned w = 0; w < workers; ++w) {
        WorkerPlan& p = plans_[w];
        p.index = w;
        p.qsv = qsv;
        p.stop = &stop_;
        p.stats = &stats_[w];
        p.drain_tsc = drain;
        p.control_tx = w == 0 ? control_tx_ : nullptr;
        for (uint16_t port : port_ids) {
            int socket = rte_eth_dev_socket_id(port);
            auto* buf = static_cast<rte_eth_dev_tx_buffer*>(rte_zmalloc_socket(
                "nfgate_txbuf", RTE_ETH_TX_BUFFER_SIZE(kBurstSize), RTE_CACHE_LINE_SIZE,
                socket < 0 ? SOCKET_ID_ANY : socket));
            if (buf == nullptr) {
                err = "eal: out of memory for TX buffers; give EAL more memory (-m)";
                return false;
            }
            p.port_ids[p.nb_ports] = port;
            p.tx_buffers[p.nb_ports] = buf;
            ++p.nb_ports;
        }
    }
    return true;
}

void WorkerSet::stop() {
    if (!running_) return;
    stop_.store(true, std::memory_order_relaxed);
    rte_eal_mp_wait_lcore();
    running_ = false;
    launches_.clear();
}

}  // namespace nfgate::port

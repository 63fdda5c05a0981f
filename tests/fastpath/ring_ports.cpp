#include "tests/fastpath/ring_ports.hpp"

#include <cstdio>
#include <filesystem>
#include <cstdlib>

#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include "dataplane/port/eal_teardown.hpp"

namespace nfgate::test {

void init_test_eal(const std::vector<std::string>& args) {
    // Every suite of a test binary asks; EAL starts once per process.
    static bool started = false;
    if (started) return;
    started = true;
    static std::vector<std::string> arena;
    static std::vector<char*> argv;
    arena.emplace_back("nfgate-test");
    for (const auto& a : args) arena.push_back(a);
    // Other DPDK processes (tests of other parts, the lab) may run at the same time: a prefix of
    // our own keeps EAL's runtime files apart.
    arena.push_back("--file-prefix=nfgate_fp_" + std::to_string(getpid()));
    for (auto& s : arena) argv.push_back(s.data());
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        std::abort();
    }
    std::atexit([] { nfgate::port::eal_cleanup_and_remove_runtime_dir(); });
}

RingPort::RingPort(const std::string& name, unsigned queues, unsigned ring_size) : name_(name) {
    for (unsigned q = 0; q < queues; ++q) {
        std::string rx = name + "_rx" + std::to_string(q);
        std::string tx = name + "_tx" + std::to_string(q);
        rx_.push_back(rte_ring_create(rx.c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ));
        tx_.push_back(rte_ring_create(tx.c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ));
        if (rx_.back() == nullptr || tx_.back() == nullptr) {
            std::fprintf(stderr, "rte_ring_create %s: %s\n", name.c_str(), rte_strerror(rte_errno));
            std::abort();
        }
    }
    int id = rte_eth_from_rings(name.c_str(), rx_.data(), queues, tx_.data(), queues, SOCKET_ID_ANY);
    if (id < 0) {
        std::fprintf(stderr, "rte_eth_from_rings %s: %s\n", name.c_str(), rte_strerror(rte_errno));
        std::abort();
    }
    port_id_ = static_cast<uint16_t>(id);
    char dev[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(port_id_, dev) == 0) device_ = dev;
}

RingPort::~RingPort() {
    // rte_eth_from_rings made a virtual device "net_ring_<name>": removing it closes the port
    // (if the fast path has not already) and frees the name for the next test.
    rte_vdev_uninit(device_.c_str());
    discard_all();
    for (auto* r : rx_) rte_ring_free(r);
    for (auto* r : tx_) rte_ring_free(r);
}

void RingPort::discard_all() {
    rte_mbuf* m;
    for (auto* r : rx_)
        while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    for (auto* r : tx_)
        while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
}

unsigned RingPort::inject(unsigned q, rte_mbuf* const* pkts, unsigned n) {
    return rte_ring_enqueue_burst(rx_[q], reinterpret_cast<void* const*>(pkts), n, nullptr);
}

unsigned RingPort::collect(unsigned q, rte_mbuf** pkts, unsigned max) {
    return rte_ring_dequeue_burst(tx_[q], reinterpret_cast<void**>(pkts), max, nullptr);
}

std::vector<rte_mbuf*> RingPort::collect_all() {
    std::vector<rte_mbuf*> out;
    rte_mbuf* buf[64];
    for (unsigned q = 0; q < tx_.size(); ++q) {
        unsigned n;
        while ((n = collect(q, buf, 64)) > 0) out.insert(out.end(), buf, buf + n);
    }
    return out;
}

unsigned RingPort::rx_pending(unsigned q) const { return rte_ring_count(rx_[q]); }

}  // namespace nfgate::test

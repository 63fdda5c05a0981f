// The fast path's exception path: one kernel TAP interface per port, named after the port
// (`interfaces[].name`) and carrying its MAC and addresses, plus the gateway file's routes, so
// the gateway's own kernel (sshd, BIRD, DNS replies, ICMP errors about its own traffic) works on
// the ports DPDK owns. Workers put such frames on their ExceptionQueue rings; a mover thread
// writes them to the TAP, and reads what the kernel sends there into mbufs that worker 0
// transmits on the port (WorkerSet::send_from_control). The workers make no system call for it.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "model/model.hpp"

namespace nfgate::port {

class ExceptionPath {
public:
    using Send = std::function<bool(uint16_t iface, rte_mbuf* m)>;  // false: `m` still the caller's

    ExceptionPath() = default;
    ExceptionPath(const ExceptionPath&) = delete;
    ExceptionPath& operator=(const ExceptionPath&) = delete;
    ~ExceptionPath() { close(); }

    // Creates the TAP interfaces (name, MAC, addresses, up; IPv6 off on a port without IPv6
    // addresses), installs the model's routes of both families
    // through them and one ring per worker. False with `err` naming what failed; nothing is left.
    bool open(const Model& m, const std::vector<rte_ether_addr>& macs, unsigned workers, rte_mempool* pool,
              std::string& err);
    rte_ring* ring(unsigned worker) const { return rings_[worker]; }

    // Moves frames both ways until close(); `send` hands the kernel's frames to a port.
    void start(Send send);
    // Stops the mover, frees what waits, removes the interfaces (and with them their routes).
    void close();

    uint64_t to_kernel() const { return to_kernel_.load(std::memory_order_relaxed); }
    uint64_t from_kernel() const { return from_kernel_.load(std::memory_order_relaxed); }

private:
    void run(Send send);

    std::vector<int> taps_;  // by interface index
    std::vector<rte_ring*> rings_;
    rte_mempool* pool_ = nullptr;
    std::thread mover_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> to_kernel_{0}, from_kernel_{0};
};

}  // namespace nfgate::port

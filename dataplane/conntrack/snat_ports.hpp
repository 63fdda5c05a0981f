// SNAT (masquerade) source ports, partitioned per worker so allocation never contends.
//
// One pool per SNAT address (pool index = position in the address list given at start; the
// addresses are the gateway's interface addresses, fixed for the life of the fast path). For each
// pool and protocol (TCP, UDP, ICMP echo id) the port range is cut into one contiguous slice per
// worker; a worker takes and returns ports only in its own slice, single-threaded.
//
// A port is busy per (snat address, protocol, port), whatever the remote end: simpler and safer
// than per remote tuple (no two live flows of one protocol ever share a translated source), at
// the cost of capping each address at (port_max - port_min + 1) concurrent flows per protocol.
// Free ports are kept in FIFO order, so a released port is reused as late as possible (the remote
// end may still hold the old connection in TIME_WAIT).
//
// The port of a flow goes back when the flow is reclaimed: ConntrackTable calls release() on the
// flow's owner worker, which must be the worker that acquired it (acquire and insert on the same
// worker). If the insert fails, the caller releases the port itself.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace nfgate::ct {

class SnatPorts {
public:
    struct Config {
        unsigned workers = 1;
        uint16_t port_min = 1024;  // host order, inclusive
        uint16_t port_max = 65535;  // host order, inclusive
    };

    // `addrs_be`: the SNAT addresses, network order. nullptr with `err` set when the range is
    // empty or too small to give every worker a port, or the address list is empty or too long.
    static std::unique_ptr<SnatPorts> create(std::span<const uint32_t> addrs_be, const Config& cfg,
                                             std::string& err);
    ~SnatPorts();
    SnatPorts(const SnatPorts&) = delete;
    SnatPorts& operator=(const SnatPorts&) = delete;

    // Worker-local. A free port (network order) of `proto` (net::kProtoTcp/Udp/Icmp, Icmpv6 as
    // Icmp) on `pool`, from
    // this worker's slice; false when the slice is exhausted or the protocol is not one of the
    // three (counted in exhausted()).
    bool acquire(unsigned worker, uint16_t pool, uint8_t proto, uint16_t& port_be);

    // Worker-local: gives back a port this worker acquired.
    void release(unsigned worker, uint16_t pool, uint8_t proto, uint16_t port_be);

    // Index of the pool of `addr_be`, -1 when it is not a SNAT address.
    int pool_of(uint32_t addr_be) const;
    uint32_t address(uint16_t pool) const { return addrs_[pool]; }
    size_t pools() const { return addrs_.size(); }
    unsigned workers() const { return workers_; }

    // Host-order port range [first, last] of `worker`'s slice.
    uint16_t slice_first(unsigned worker) const;
    uint16_t slice_last(unsigned worker) const;

    uint32_t free_count(unsigned worker, uint16_t pool, uint8_t proto) const;
    // Share of ports in use in `worker`'s fullest slice (any pool, any protocol): where it
    // reaches 1, that worker refuses new flows of that protocol to that address. Any thread.
    double fill(unsigned worker) const;
    // Refused acquisitions of `worker` (read from any thread; approximate while it runs).
    uint64_t exhausted(unsigned worker) const;

private:
    struct Slice;
    SnatPorts() = default;
    Slice* slice(unsigned worker, uint16_t pool, uint8_t proto) const;

    std::vector<uint32_t> addrs_;
    unsigned workers_ = 0;
    uint16_t port_min_ = 0;
    uint32_t ports_per_worker_ = 0;
    uint32_t last_worker_ports_ = 0;
    std::vector<std::unique_ptr<Slice>> slices_;  // [worker][pool][proto]
    struct WorkerCounters;
    std::unique_ptr<WorkerCounters[]> counters_;
};

}  // namespace nfgate::ct

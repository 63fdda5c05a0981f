// Per-worker SNAT port slices: FIFO free rings, one per (worker, address, protocol).
#include "dataplane/conntrack/snat_ports.hpp"

#include <algorithm>

#include <arpa/inet.h>

#include <atomic>

#include "dataplane/conntrack/flow.hpp"

namespace nfgate::ct {

namespace {

constexpr unsigned kProtos = 3;  // TCP, UDP, ICMP echo identifier

int proto_slot(uint8_t proto) {
    switch (proto) {
        case net::kProtoTcp: return 0;
        case net::kProtoUdp: return 1;
        case net::kProtoIcmp:
        case net::kProtoIcmpv6: return 2;  // echo identifiers, as for ICMP
        default: return -1;
    }
}

}  // namespace

// A worker's ports for one (address, protocol): a FIFO ring of free ports (network order) and a
// bitmap of which ones are free, so a stray or double release cannot put a port in twice.
struct SnatPorts::Slice {
    uint16_t first = 0;  // host order
    std::vector<uint16_t> ring;
    std::vector<uint64_t> is_free;  // bit (port - first)
    uint32_t head = 0;
    // Free ports. Only the owning worker writes it (relaxed load + store, no locked add); any
    // thread may read it for fill statistics.
    std::atomic<uint32_t> count{0};

    uint32_t free_now() const { return count.load(std::memory_order_relaxed); }
    void set_free(uint32_t n) { count.store(n, std::memory_order_relaxed); }
};

struct alignas(64) SnatPorts::WorkerCounters {
    std::atomic<uint64_t> exhausted{0};
};

std::unique_ptr<SnatPorts> SnatPorts::create(std::span<const uint32_t> addrs_be, const Config& cfg,
                                             std::string& err) {
    if (addrs_be.empty() || addrs_be.size() >= kNoSnat) {
        err = "snat: " + std::to_string(addrs_be.size()) +
              " SNAT addresses: need 1.." + std::to_string(kNoSnat - 1);
        return nullptr;
    }
    if (cfg.workers == 0 || cfg.port_min == 0 || cfg.port_min > cfg.port_max ||
        uint32_t{cfg.port_max} - cfg.port_min + 1 < cfg.workers) {
        err = "snat: port range " + std::to_string(cfg.port_min) + "-" + std::to_string(cfg.port_max) +
              " for " + std::to_string(cfg.workers) +
              " workers: need 1 <= min <= max and at least one port per worker";
        return nullptr;
    }
    std::unique_ptr<SnatPorts> p(new SnatPorts());
    p->addrs_.assign(addrs_be.begin(), addrs_be.end());
    p->workers_ = cfg.workers;
    p->port_min_ = cfg.port_min;
    const uint32_t range = uint32_t{cfg.port_max} - cfg.port_min + 1;
    p->ports_per_worker_ = range / cfg.workers;
    p->last_worker_ports_ = range - p->ports_per_worker_ * (cfg.workers - 1);
    p->counters_.reset(new WorkerCounters[cfg.workers]);
    for (unsigned w = 0; w < cfg.workers; w++) {
        for (size_t pool = 0; pool < p->addrs_.size(); pool++) {
            for (unsigned pr = 0; pr < kProtos; pr++) {
                auto s = std::make_unique<Slice>();
                s->first = p->slice_first(w);
                const uint32_t n = uint32_t{p->slice_last(w)} - s->first + 1;
                s->ring.resize(n);
                s->is_free.assign((n + 63) / 64, 0);
                for (uint32_t i = 0; i < n; i++) {
                    s->ring[i] = htons(static_cast<uint16_t>(s->first + i));
                    s->is_free[i / 64] |= 1ull << (i % 64);
                }
                s->set_free(n);
                p->slices_.push_back(std::move(s));
            }
        }
    }
    return p;
}

SnatPorts::~SnatPorts() = default;

uint16_t SnatPorts::slice_first(unsigned worker) const {
    return static_cast<uint16_t>(port_min_ + worker * ports_per_worker_);
}

uint16_t SnatPorts::slice_last(unsigned worker) const {
    const uint32_t n = worker + 1 == workers_ ? last_worker_ports_ : ports_per_worker_;
    return static_cast<uint16_t>(slice_first(worker) + n - 1);
}

SnatPorts::Slice* SnatPorts::slice(unsigned worker, uint16_t pool, uint8_t proto) const {
    const int pr = proto_slot(proto);
    if (pr < 0 || pool >= addrs_.size() || worker >= workers_) return nullptr;
    return slices_[(size_t{worker} * addrs_.size() + pool) * kProtos + static_cast<unsigned>(pr)].get();
}

bool SnatPorts::acquire(unsigned worker, uint16_t pool, uint8_t proto, uint16_t& port_be) {
    Slice* s = slice(worker, pool, proto);
    if (s == nullptr || s->free_now() == 0) {
        if (worker < workers_) {
            auto& c = counters_[worker].exhausted;
            c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        }
        return false;
    }
    port_be = s->ring[s->head];
    s->head = (s->head + 1) % s->ring.size();
    s->set_free(s->free_now() - 1);
    const uint32_t bit = uint32_t{ntohs(port_be)} - s->first;
    s->is_free[bit / 64] &= ~(1ull << (bit % 64));
    return true;
}

void SnatPorts::release(unsigned worker, uint16_t pool, uint8_t proto, uint16_t port_be) {
    Slice* s = slice(worker, pool, proto);
    if (s == nullptr) return;
    const uint32_t bit = uint32_t{ntohs(port_be)} - s->first;
    if (bit >= s->ring.size() || (s->is_free[bit / 64] >> (bit % 64) & 1)) return;
    s->is_free[bit / 64] |= 1ull << (bit % 64);
    s->ring[(s->head + s->free_now()) % s->ring.size()] = port_be;
    s->set_free(s->free_now() + 1);
}

int SnatPorts::pool_of(uint32_t addr_be) const {
    for (size_t i = 0; i < addrs_.size(); i++)
        if (addrs_[i] == addr_be) return static_cast<int>(i);
    return -1;
}

uint32_t SnatPorts::free_count(unsigned worker, uint16_t pool, uint8_t proto) const {
    const Slice* s = slice(worker, pool, proto);
    return s == nullptr ? 0 : s->free_now();
}

double SnatPorts::fill(unsigned worker) const {
    double most = 0;
    for (size_t pool = 0; pool < addrs_.size(); pool++)
        for (uint8_t proto : {net::kProtoTcp, net::kProtoUdp, net::kProtoIcmp}) {
            const Slice* s = slice(worker, static_cast<uint16_t>(pool), proto);
            if (s == nullptr || s->ring.empty()) continue;
            most = std::max(most, 1.0 - double(s->free_now()) / double(s->ring.size()));
        }
    return most;
}

uint64_t SnatPorts::exhausted(unsigned worker) const {
    return worker < workers_ ? counters_[worker].exhausted.load(std::memory_order_relaxed) : 0;
}

}  // namespace nfgate::ct

#include "dataplane/engine/neighbour_table.hpp"

#include <algorithm>

namespace nfgate::engine {

NeighbourTable::Slot* NeighbourTable::claim(uint32_t ip, uint16_t port) {
    if (!is_neighbour(ip) || port >= kMaxPorts) return nullptr;
    for (unsigned attempt = 0; attempt < 4; ++attempt) {
        Slot* free_slot = nullptr;
        uint32_t expected = 0;
        for (uint32_t i = home(ip), n = 0; n < kMaxProbe; i = (i + 1) & (kSlots - 1), ++n) {
            const uint32_t cur = slots_[i].ip.load(std::memory_order_acquire);
            if (cur == ip) return &slots_[i];
            if (cur == kTombstone && free_slot == nullptr) {
                free_slot = &slots_[i];
                expected = kTombstone;
            }
            if (cur == 0) {
                if (free_slot == nullptr) free_slot = &slots_[i];
                break;  // the end of the chain: `ip` is not in the table
            }
        }
        if (free_slot == nullptr) return nullptr;
        if (per_port_[port].fetch_add(1, std::memory_order_relaxed) >= kPortQuota) {
            per_port_[port].fetch_sub(1, std::memory_order_relaxed);
            return nullptr;
        }
        if (free_slot->ip.compare_exchange_strong(expected, ip, std::memory_order_acq_rel, std::memory_order_acquire)) {
            free_slot->port.store(port, std::memory_order_relaxed);
            return free_slot;
        }
        per_port_[port].fetch_sub(1, std::memory_order_relaxed);  // another learner took it: look again
    }
    return nullptr;
}

bool NeighbourTable::learn(uint32_t ip, const rte_ether_addr& mac, uint16_t port, uint32_t now_s) {
    Slot* s = claim(ip, port);
    if (s == nullptr) return false;
    store(*s, pack(mac) | kValid);
    s->confirmed_s.store(now_s, std::memory_order_relaxed);
    return true;
}

void NeighbourTable::remove(uint32_t index) {
    Slot& s = slots_[index];
    const uint16_t port = s.port.load(std::memory_order_relaxed);
    s.mac.store(0, std::memory_order_release);  // readers that found the slot see no MAC
    s.ip.store(kTombstone, std::memory_order_release);
    probes_[index] = 0;
    per_port_[port].fetch_sub(1, std::memory_order_relaxed);
    version_.fetch_add(1, std::memory_order_release);
}

std::vector<NeighbourProbe> NeighbourTable::age(uint32_t now_s) {
    std::vector<NeighbourProbe> probes;
    // Per full port: (last used as a next hop, last confirmed, index): never-used hosts go first.
    std::array<std::vector<std::pair<uint64_t, uint32_t>>, kMaxPorts> by_port;
    for (uint32_t i = 0; i < kSlots; ++i) {
        Slot& s = slots_[i];
        const uint32_t ip = s.ip.load(std::memory_order_acquire);
        if (!is_neighbour(ip)) continue;
        const uint16_t port = s.port.load(std::memory_order_relaxed);
        const uint32_t confirmed = s.confirmed_s.load(std::memory_order_relaxed);
        const uint64_t touched = uint64_t{s.used_s.load(std::memory_order_relaxed)} << 32 | confirmed;
        if (now_s - confirmed < kReachableSeconds) {
            probes_[i] = 0;  // confirmed again (or never aged)
        } else if (probes_[i] >= kProbes) {
            remove(i);
            continue;
        } else {
            ++probes_[i];
            probes.push_back({port, ip});
        }
        if (per_port_[port].load(std::memory_order_relaxed) >= kPortQuota) by_port[port].emplace_back(touched, i);
    }
    // A full port makes room for newcomers: its least recently used quarter goes.
    for (auto& entries : by_port) {
        if (entries.empty()) continue;
        std::sort(entries.begin(), entries.end());
        const size_t evict = std::max<size_t>(1, entries.size() / 4);
        for (size_t k = 0; k < evict; ++k) remove(entries[k].second);
    }
    // A new second: the workers' next-hop caches start over, and their lookups mark the hops
    // still in use (lookup's `now_s`), so a busy router is never mistaken for an idle host.
    version_.fetch_add(1, std::memory_order_release);
    return probes;
}

}  // namespace nfgate::engine

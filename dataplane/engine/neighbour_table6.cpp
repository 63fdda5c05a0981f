#include "dataplane/engine/neighbour_table6.hpp"

namespace nfgate::engine {

void NeighbourTable6::set(Slot& s, uint64_t hi, uint64_t lo, uint64_t mac) {
    const uint32_t seq = s.seq.load(std::memory_order_relaxed);
    s.seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    s.hi.store(hi, std::memory_order_relaxed);
    s.lo.store(lo, std::memory_order_relaxed);
    s.mac.store(mac, std::memory_order_relaxed);
    s.seq.store(seq + 2, std::memory_order_release);
    version_.fetch_add(1, std::memory_order_release);
}

bool NeighbourTable6::write(const Ip6& ip, const rte_ether_addr& mac, bool add, uint32_t now_s) {
    uint64_t hi, lo, w = kUsed;
    split(ip, hi, lo);
    std::memcpy(&w, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
    lock();
    Slot* target = nullptr;
    Slot* reusable = nullptr;  // the first tombstone on the way
    Slot* oldest = nullptr;
    bool same = false;
    for (uint32_t i = home(ip), n = 0; n < kMaxProbe; i = (i + 1) & (kSlots - 1), ++n) {
        Slot& s = slots_[i];
        const uint64_t cur = s.mac.load(std::memory_order_relaxed);
        if (cur == 0) {  // the end of the chain: the neighbour is not there
            if (add) target = reusable != nullptr ? reusable : &s;
            break;
        }
        if (cur == kTombstone) {
            if (reusable == nullptr) reusable = &s;
            continue;
        }
        if (s.hi.load(std::memory_order_relaxed) == hi && s.lo.load(std::memory_order_relaxed) == lo) {
            target = &s;
            same = true;
            break;
        }
        if (oldest == nullptr || older(s, *oldest)) oldest = &s;
    }
    if (target == nullptr && add) target = reusable;
    if (target == nullptr && add && oldest != nullptr) {
        target = oldest;  // a full window: the one least recently used goes
        evicted_.fetch_add(1, std::memory_order_relaxed);
    }
    if (target != nullptr) {
        if (!same) target->used_s.store(0, std::memory_order_relaxed);
        if (!same || target->mac.load(std::memory_order_relaxed) != w) set(*target, hi, lo, w);
        target->heard_s = now_s;
        target->probes = 0;
    }
    unlock();
    return target != nullptr;
}

std::vector<NeighbourProbe6> NeighbourTable6::age(uint32_t now_s) {
    std::vector<NeighbourProbe6> probes;
    lock();
    for (uint32_t i = 0; i < kSlots; ++i) {
        Slot& s = slots_[i];
        const uint64_t w = s.mac.load(std::memory_order_relaxed);
        if (w == 0 || w == kTombstone || now_s - s.heard_s < kReachableSeconds) continue;
        if (s.probes >= kProbes) {
            set(s, 0, 0, kTombstone);
            continue;
        }
        ++s.probes;
        NeighbourProbe6& p = probes.emplace_back();
        const uint64_t hi = s.hi.load(std::memory_order_relaxed), lo = s.lo.load(std::memory_order_relaxed);
        std::memcpy(p.ip.data(), &hi, 8);
        std::memcpy(p.ip.data() + 8, &lo, 8);
        std::memcpy(p.mac.addr_bytes, &w, RTE_ETHER_ADDR_LEN);
    }
    unlock();
    // A new second: the workers' next-hop caches start over, and their lookups mark the next
    // hops still in use.
    version_.fetch_add(1, std::memory_order_release);
    return probes;
}

}  // namespace nfgate::engine

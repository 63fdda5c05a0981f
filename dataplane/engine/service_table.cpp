#include "dataplane/engine/service_table.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "dataplane/engine/backend_pick.hpp"
#include "model/endpoint_choice.hpp"

namespace nfgate::engine {

namespace {

// FNV-1a: a stable id for a service port across snapshots (affinity entries survive reloads).
uint32_t stable_id(const std::string& s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h == 0 ? 1 : h;
}

// FNV-1a, 64 bits: what frontend counter slots are kept by (no two of a cluster's names meet).
uint64_t name_hash(const std::string& s) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

uint8_t proto_number(Proto p) { return static_cast<uint8_t>(p); }

}  // namespace

class ServiceTableBuilder {
public:
    ServiceTableBuilder(const Model& m, std::span<const rte_ether_addr> macs, std::string& err, FrontendSlots* slots,
                        const ServiceTable* previous)
        : m_(m), macs_(macs), err_(err), slots_(slots != nullptr ? *slots : own_slots_) {
        if (previous == nullptr) return;
        previous_ports_.reserve(previous->service_ports().size());
        for (const auto& e : previous->service_ports()) previous_ports_.emplace(e->id, e);
    }

    std::unique_ptr<ServiceTable> build() {
        if (macs_.size() != m_.interfaces.size()) {
            err_ = "fast path: " + std::to_string(m_.interfaces.size()) + " interfaces but " +
                   std::to_string(macs_.size()) + " port MAC addresses";
            return nullptr;
        }
        st_ = std::make_unique<ServiceTable>();
        static std::atomic<uint64_t> generations{0};
        st_->generation_ = generations.fetch_add(1, std::memory_order_relaxed) + 1;
        add_interfaces();
        if (!st_->routes_.build(m_.interfaces, m_.routes, err_)) return nullptr;
        for (size_t s = 0; s < m_.services.size(); ++s)
            if (!add_service(s)) return nullptr;
        st_->services_.build(svc_keys_, svc_values_);
        st_->addr_kinds_.build(addr_keys_, addr_values_);
        st_->arp_.build(arp_keys_, std::vector<uint32_t>(arp_keys_.size(), 1));
        st_->arp_by_port_.resize(m_.interfaces.size());
        for (uint64_t k : arp_keys_) st_->arp_by_port_[k >> 32].push_back(static_cast<uint32_t>(k));
        for (auto& v : st_->arp_by_port_) {  // once each (a VIP of several Services is one address), in first-seen order
            std::unordered_set<uint32_t> seen;
            v.erase(std::remove_if(v.begin(), v.end(), [&](uint32_t ip) { return !seen.insert(ip).second; }), v.end());
        }
        std::vector<const ServicePortEntry*> bases;
        bases.reserve(st_->ports_.size());
        for (const auto& e : st_->ports_) bases.push_back(e.get());
        if (!st_->v6_.build(m_, bases, slots_, err_)) return nullptr;
        add_vips6();
        st_->nd_sorted_ = st_->nd_by_port_;
        for (auto& v : st_->nd_sorted_) std::sort(v.begin(), v.end());
        st_->service_cidrs_ = m_.service_cidrs;
        st_->cluster_cidrs_ = m_.cluster_cidrs;
        st_->non_masq_ = m_.masquerade.non_masquerade_cidrs;
        st_->masquerade_egress_ = m_.masquerade.egress;
        st_->masquerade_all_ = m_.masquerade.all;
        st_->source_limit_ = SourceLimit::per_worker(m_.new_flows_per_source, m_.per_source_burst(), m_.workers);
        return std::move(st_);
    }

private:
    void add_interfaces() {
        std::vector<uint64_t> local;
        for (size_t i = 0; i < m_.interfaces.size(); ++i) {
            const IfAddr& a = m_.interfaces[i].address;
            st_->ifaces_.push_back(IfaceInfo{a.addr, a.len, macs_[i]});
            local.push_back(a.addr);
        }
        for (uint32_t n : m_.node_addresses) local.push_back(n);
        st_->local_.build(local, std::vector<uint32_t>(local.size(), 1));
        for (uint64_t ip : local) add_arp_answer(static_cast<uint32_t>(ip));
        add_interfaces6();
    }

    // Each IPv6 address once; answered on every port with a prefix that holds it.
    void add_interfaces6() {
        auto& local = st_->local6_;
        for (const auto& ifc : m_.interfaces)
            for (const IfAddr6& a : ifc.addresses6) local.push_back(a.addr);
        for (const Ip6& n : m_.node_addresses6) local.push_back(n);
        std::sort(local.begin(), local.end());
        local.erase(std::unique(local.begin(), local.end()), local.end());
        st_->nd_by_port_.assign(m_.interfaces.size(), {});
        for (size_t i = 0; i < m_.interfaces.size(); ++i)
            for (const Ip6& ip : local)
                for (const IfAddr6& a : m_.interfaces[i].addresses6)
                    if (a.subnet().contains(ip)) {
                        st_->nd_by_port_[i].push_back(ip);
                        break;
                    }
    }

    // The Services' IPv6 addresses inside an interface's prefix are answered there too (a VIP
    // in the link's subnet is reached by neighbour discovery, as IPv4 VIPs by ARP); each once.
    void add_vips6() {
        for (size_t i = 0; i < m_.interfaces.size(); ++i) {
            auto& answered = st_->nd_by_port_[i];
            std::set<Ip6> seen(answered.begin(), answered.end());
            for (const Service& svc : m_.services)
                for (const auto* list : {&svc.cluster_ips6, &svc.external_ips6, &svc.lb_ips6})
                    for (const Ip6& ip : *list)
                        for (const IfAddr6& a : m_.interfaces[i].addresses6)
                            if (a.subnet().contains(ip)) {
                                if (seen.insert(ip).second) answered.push_back(ip);
                                break;
                            }
        }
    }

    // An address is answered on every interface whose subnet holds it.
    void add_arp_answer(uint32_t ip) {
        for (size_t i = 0; i < m_.interfaces.size(); ++i)
            if (m_.interfaces[i].address.subnet().contains(ip)) arp_keys_.push_back(uint64_t{i} << 32 | ip);
    }

    void add_address(uint32_t ip, bool cluster_ip) {
        addr_keys_.push_back(ip);
        addr_values_.push_back(cluster_ip ? ServiceTable::kAddrClusterIp : ServiceTable::kAddrOtherVip);
        add_arp_answer(ip);
    }

    void add_key(uint32_t ip, uint8_t proto, uint16_t port, size_t port_index, VipKind kind) {
        svc_keys_.push_back(ServiceTable::service_key(ip, proto, port));
        svc_values_.push_back(static_cast<uint32_t>(st_->frontends_.size()));
        const ServicePortEntry* entry = st_->ports_[port_index].get();
        const FrontendKey key{entry->name_hash, uint64_t{ip} << 16 | port};
        st_->frontends_.push_back(FrontendEntry{entry, static_cast<uint32_t>(port_index), kind, slots_.take(key), ip, port});
    }

    bool add_service(size_t s) {
        const Service& svc = m_.services[s];
        for (uint32_t ip : svc.cluster_ips) add_address(ip, true);
        for (uint32_t ip : svc.external_ips) add_address(ip, false);
        for (uint32_t ip : svc.lb_ips) add_address(ip, false);
        for (size_t p = 0; p < svc.ports.size(); ++p) {
            const ServicePort& sp = svc.ports[p];
            // Read into the builder's scratch entry first: most ports of a next snapshot are
            // the ones in force, shared without allocating anything.
            ServicePortEntry& e = scratch_;
            e.proto = proto_number(sp.proto);
            e.name.assign(svc.ns).append("/").append(svc.name).append(":");
            e.name.append(sp.name.empty() ? std::to_string(sp.port) : sp.name).append("/").append(proto_name(sp.proto));
            e.id = stable_id(e.name);
            chosen_endpoints(sp, chosen_);
            e.backends.clear();
            for (const Endpoint& ep : chosen_) e.backends.push_back(Backend{ep.ip, ep.port});
            e.serving.clear();
            for (const Endpoint& ep : sp.endpoints)
                if (keeps_flows(ep)) e.serving.push_back(Backend{ep.ip, ep.port});
            std::sort(e.backends.begin(), e.backends.end(), backend_less);
            std::sort(e.serving.begin(), e.serving.end(), backend_less);
            e.affinity_client_ip = svc.affinity_client_ip;
            e.affinity_timeout_s = svc.affinity_timeout_s;
            e.etp_local = svc.external_traffic_policy == TrafficPolicy::local;
            e.source_ranges = svc.lb_source_ranges;
            const size_t index = st_->ports_.size();
            const std::shared_ptr<const ServicePortEntry>* before = previous(e);
            if (before != nullptr && same_entry(**before, e)) {
                st_->ports_.push_back(*before);  // unchanged: shared with the snapshot in force
            } else {
                ServicePortEntry fresh = e;
                fresh.name_hash = name_hash(fresh.name);
                if (before != nullptr && (*before)->backends == fresh.backends) {
                    fresh.maglev = (*before)->maglev;  // a function of the backends alone: copied, not rebuilt
                } else if (!build_backend_picker(fresh, err_)) {
                    err_ = "services[" + std::to_string(s) + "] (" + svc.key() + ").ports[" + std::to_string(p) + "]: " + err_;
                    return false;
                }
                st_->ports_.push_back(std::make_shared<const ServicePortEntry>(std::move(fresh)));
            }
            for (uint32_t ip : svc.cluster_ips) add_key(ip, proto_number(sp.proto), sp.port, index, VipKind::cluster_ip);
            for (uint32_t ip : svc.external_ips) add_key(ip, proto_number(sp.proto), sp.port, index, VipKind::external_ip);
            for (uint32_t ip : svc.lb_ips) add_key(ip, proto_number(sp.proto), sp.port, index, VipKind::lb_ip);
            if (sp.node_port != 0)
                for (uint32_t ip : m_.node_addresses) add_key(ip, proto_number(sp.proto), sp.node_port, index, VipKind::node_port);
        }
        return true;
    }

    // The same service port (by id and name) in the snapshot in force, if any.
    const std::shared_ptr<const ServicePortEntry>* previous(const ServicePortEntry& e) const {
        const auto it = previous_ports_.find(e.id);
        return it == previous_ports_.end() || it->second->name != e.name ? nullptr : &it->second;
    }

    // Everything but the Maglev table, which follows from the backends.
    static bool same_entry(const ServicePortEntry& a, const ServicePortEntry& b) {
        return a.proto == b.proto && a.backends == b.backends && a.serving == b.serving &&
               a.affinity_client_ip == b.affinity_client_ip && a.affinity_timeout_s == b.affinity_timeout_s &&
               a.etp_local == b.etp_local && a.source_ranges == b.source_ranges;
    }

    const Model& m_;
    std::span<const rte_ether_addr> macs_;
    std::string& err_;
    FrontendSlots own_slots_;
    FrontendSlots& slots_;
    std::unique_ptr<ServiceTable> st_;
    std::vector<uint64_t> svc_keys_, addr_keys_, arp_keys_;
    std::vector<uint32_t> svc_values_, addr_values_;
    std::unordered_map<uint32_t, std::shared_ptr<const ServicePortEntry>> previous_ports_;  // by id
    ServicePortEntry scratch_;      // the port being read (its buffers reused port after port)
    std::vector<Endpoint> chosen_;  // its chosen endpoints
};

std::unique_ptr<ServiceTable> build_service_table(const Model& m, std::span<const rte_ether_addr> iface_macs,
                                                  std::string& err, FrontendSlots* slots, const ServiceTable* previous) {
    return ServiceTableBuilder(m, iface_macs, err, slots, previous).build();
}

}  // namespace nfgate::engine

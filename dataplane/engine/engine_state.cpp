#include "dataplane/engine/engine_state.hpp"

#include <random>

#include <rte_byteorder.h>

#include "dataplane/net/ipv6_addr.hpp"

namespace nfgate::engine {

EngineConfig EngineConfig::from_model(const Model& m) {
    EngineConfig c;
    c.max_flows = m.max_flows;
    c.workers = m.workers;
    for (const Interface& i : m.interfaces) {
        c.snat_addresses.push_back(i.address.addr);
        Ip6 global{};
        for (const IfAddr6& a : i.addresses6)
            if (!net::ip6_is_link_local(a.addr)) {
                global = a.addr;
                break;
            }
        c.snat_addresses6.push_back(global);
    }
    return c;
}

// The IPv6 flow table beside the IPv4 one, sized alike and guarded by the same QSBR variable
// (the IPv4 table's own one when the caller gave none), so one quiescent report covers both.
// Its SNAT pools are the interfaces' IPv6 addresses, one per interface in interface order
// (an interface without one keeps an empty pool nobody asks for).
bool EngineShared::create_ipv6(EngineShared& s, const EngineConfig& cfg, std::string& err) {
    bool any = false;
    for (const Ip6& a : cfg.snat_addresses6) any |= !a.is_zero();
    if (!any) return true;
    s.snat6_addrs_ = cfg.snat_addresses6;
    std::vector<uint32_t> pool_ids;  // SnatPorts keys pools by a 32-bit address: their numbers stand in
    for (size_t i = 0; i < cfg.snat_addresses6.size(); ++i) pool_ids.push_back(static_cast<uint32_t>(i + 1));
    ct::SnatPorts::Config sc;
    sc.workers = cfg.workers;
    sc.port_min = cfg.snat_port_min;
    sc.port_max = cfg.snat_port_max;
    s.snat6_ = ct::SnatPorts::create(pool_ids, sc, err);
    if (!s.snat6_) return false;
    ct::ConntrackTable6::Config tc;
    tc.max_flows = cfg.max_flows;
    tc.workers = cfg.workers;
    tc.qsbr = s.flows_->qsbr();
    tc.timeouts = cfg.timeouts;
    tc.snat = s.snat6_.get();
    s.flows6_ = ct::ConntrackTable6::create(tc, err);
    if (!s.flows6_) err = "IPv6 flow table: " + err;
    return s.flows6_ != nullptr;
}

std::unique_ptr<EngineShared> EngineShared::create(const EngineConfig& cfg, std::string& err) {
    std::unique_ptr<EngineShared> s(new EngineShared());
    s->workers_ = cfg.workers;
    std::vector<uint32_t> addrs_be;
    for (uint32_t a : cfg.snat_addresses) addrs_be.push_back(rte_cpu_to_be_32(a));
    ct::SnatPorts::Config sc;
    sc.workers = cfg.workers;
    sc.port_min = cfg.snat_port_min;
    sc.port_max = cfg.snat_port_max;
    s->snat_ = ct::SnatPorts::create(addrs_be, sc, err);
    if (!s->snat_) return nullptr;
    ct::ConntrackTable::Config tc;
    tc.max_flows = cfg.max_flows;
    tc.workers = cfg.workers;
    tc.qsbr = cfg.qsbr;
    tc.timeouts = cfg.timeouts;
    tc.snat = s->snat_.get();
    s->flows_ = ct::ConntrackTable::create(tc, err);
    if (!s->flows_) return nullptr;
    if (!create_ipv6(*s, cfg, err)) return nullptr;
    std::random_device rd;
    s->cookie_key_.k0 = uint64_t{rd()} << 32 | rd();
    s->cookie_key_.k1 = uint64_t{rd()} << 32 | rd();
    return s;
}

}  // namespace nfgate::engine

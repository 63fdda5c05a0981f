#include "dataplane/engine/engine_state.hpp"

#include <random>

#include <rte_byteorder.h>

namespace nfgate::engine {

EngineConfig EngineConfig::from_model(const Model& m) {
    EngineConfig c;
    c.max_flows = m.max_flows;
    c.workers = m.workers;
    for (const Interface& i : m.interfaces) c.snat_addresses.push_back(i.address.addr);
    return c;
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
    std::random_device rd;
    s->cookie_key_.k0 = uint64_t{rd()} << 32 | rd();
    s->cookie_key_.k1 = uint64_t{rd()} << 32 | rd();
    return s;
}

}  // namespace nfgate::engine

#include "model/endpoint_choice.hpp"

namespace nfgate {

namespace {

// kube-proxy's canUseTopology: every ready endpoint hinted, at least one for this zone. An
// endpoint without hints means the EndpointSlice controller gave up on hints for the Service
// (or was never asked): then the zone narrows nothing.
bool zone_applies(const std::vector<Endpoint>& eps) {
    bool here = false;
    for (const Endpoint& e : eps) {
        if (!e.ready) continue;
        if (e.zone_hint == ZoneHint::none) return false;
        here = here || e.zone_hint == ZoneHint::here;
    }
    return here;
}

template <typename Each>
void for_each_chosen(const ServicePort& p, Each&& each) {
    const bool zone = zone_applies(p.endpoints);
    bool any_ready = false;
    for (const Endpoint& e : p.endpoints) {
        if (!e.ready) continue;
        any_ready = true;
        if (!zone || e.zone_hint == ZoneHint::here) each(e);
    }
    if (any_ready) return;
    for (const Endpoint& e : p.endpoints)
        if (e.serving && e.terminating) each(e);
}

}  // namespace

std::vector<Endpoint> chosen_endpoints(const ServicePort& p) {
    std::vector<Endpoint> out;
    chosen_endpoints(p, out);
    return out;
}

void chosen_endpoints(const ServicePort& p, std::vector<Endpoint>& out) {
    out.clear();
    for_each_chosen(p, [&](const Endpoint& e) { out.push_back(e); });
}

size_t chosen_count(const ServicePort& p) {
    size_t n = 0;
    for_each_chosen(p, [&](const Endpoint&) { ++n; });
    return n;
}

}  // namespace nfgate

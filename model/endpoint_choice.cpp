#include "model/endpoint_choice.hpp"

namespace nfgate {

namespace {

// kube-proxy's canUseTopology: every ready endpoint hinted, at least one for this zone. An
// endpoint without hints means the EndpointSlice controller gave up on hints for the Service
// (or was never asked): then the zone narrows nothing.
template <typename E>
bool zone_applies(const std::vector<E>& eps) {
    bool here = false;
    for (const E& e : eps) {
        if (!e.ready) continue;
        if (e.zone_hint == ZoneHint::none) return false;
        here = here || e.zone_hint == ZoneHint::here;
    }
    return here;
}

template <typename E, typename Each>
void for_each_chosen(const std::vector<E>& eps, Each&& each) {
    const bool zone = zone_applies(eps);
    bool any_ready = false;
    for (const E& e : eps) {
        if (!e.ready) continue;
        any_ready = true;
        if (!zone || e.zone_hint == ZoneHint::here) each(e);
    }
    if (any_ready) return;
    for (const E& e : eps)
        if (e.serving && e.terminating) each(e);
}

template <typename E>
void chosen_into(const std::vector<E>& eps, std::vector<E>& out) {
    out.clear();
    for_each_chosen(eps, [&](const E& e) { out.push_back(e); });
}

template <typename E>
size_t count_chosen(const std::vector<E>& eps) {
    size_t n = 0;
    for_each_chosen(eps, [&](const E&) { ++n; });
    return n;
}

}  // namespace

std::vector<Endpoint> chosen_endpoints(const ServicePort& p) {
    std::vector<Endpoint> out;
    chosen_into(p.endpoints, out);
    return out;
}

void chosen_endpoints(const ServicePort& p, std::vector<Endpoint>& out) { chosen_into(p.endpoints, out); }

size_t chosen_count(const ServicePort& p) { return count_chosen(p.endpoints); }

std::vector<Endpoint6> chosen_endpoints6(const ServicePort& p) {
    std::vector<Endpoint6> out;
    chosen_into(p.endpoints6, out);
    return out;
}

void chosen_endpoints6(const ServicePort& p, std::vector<Endpoint6>& out) { chosen_into(p.endpoints6, out); }

size_t chosen_count6(const ServicePort& p) { return count_chosen(p.endpoints6); }

}  // namespace nfgate

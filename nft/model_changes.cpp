#include "nft/model_changes.hpp"

#include <tuple>

namespace nfgate::nft {
namespace {

bool key_less(const Service& a, const Service& b) { return std::tie(a.ns, a.name) < std::tie(b.ns, b.name); }

}  // namespace

bool same_ruleset_globals(const Model& a, const Model& b) {
    return a.node_addresses == b.node_addresses && a.cluster_cidrs == b.cluster_cidrs &&
           a.service_cidrs == b.service_cidrs && a.masquerade == b.masquerade && a.node_addresses6 == b.node_addresses6 &&
           a.cluster_cidrs6 == b.cluster_cidrs6 && a.service_cidrs6 == b.service_cidrs6 && a.has_ipv6() == b.has_ipv6() &&
           a.new_flows_per_source == b.new_flows_per_source && a.per_source_burst() == b.per_source_burst();
}

bool changed_services(const Model& a, const Model& b, ServiceChanges& out) {
    out = {};
    const auto& x = a.services;
    const auto& y = b.services;
    size_t i = 0, j = 0;
    // One walk: the order is checked on the way (each side strictly increasing by key).
    while (i < x.size() || j < y.size()) {
        if (i > 0 && i < x.size() && !key_less(x[i - 1], x[i])) return false;
        if (j > 0 && j < y.size() && !key_less(y[j - 1], y[j])) return false;
        if (j == y.size() || (i < x.size() && key_less(x[i], y[j]))) {
            out.before.push_back(&x[i++]);
        } else if (i == x.size() || key_less(y[j], x[i])) {
            out.after.push_back(&y[j++]);
        } else {
            if (!(x[i] == y[j])) {
                out.before.push_back(&x[i]);
                out.after.push_back(&y[j]);
            }
            ++i, ++j;
        }
    }
    return true;
}

void adopt_services(Model& held, const Model& next, const ServiceChanges& changes) {
    // The common case, Services edited in place: overwrite their slots.
    bool same_keys = changes.before.size() == changes.after.size() && held.services.size() == next.services.size();
    for (size_t k = 0; same_keys && k < changes.before.size(); ++k)
        same_keys = changes.before[k]->ns == changes.after[k]->ns && changes.before[k]->name == changes.after[k]->name;
    if (same_keys) {
        for (size_t k = 0; k < changes.before.size(); ++k)
            held.services[static_cast<size_t>(changes.before[k] - held.services.data())] = *changes.after[k];
        return;
    }
    // Services added or removed: rebuild the list in key order, moving the unchanged ones.
    std::vector<Service> merged;
    merged.reserve(next.services.size());
    size_t i = 0, k = 0;
    for (const auto& s : next.services) {
        while (i < held.services.size() && key_less(held.services[i], s)) ++i;
        bool changed = k < changes.after.size() && changes.after[k] == &s;
        if (changed) {
            merged.push_back(s);
            ++k;
        } else {
            merged.push_back(std::move(held.services[i]));
        }
        if (i < held.services.size() && !key_less(s, held.services[i])) ++i;
    }
    held.services = std::move(merged);
}

}  // namespace nfgate::nft

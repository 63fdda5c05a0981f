#include "nft/model_changes.hpp"

#include <tuple>

namespace nfgate::nft {
namespace {

bool key_less(const Service& a, const Service& b) { return std::tie(a.ns, a.name) < std::tie(b.ns, b.name); }

bool sorted(const std::vector<Service>& v) {
    for (size_t i = 1; i < v.size(); ++i)
        if (!key_less(v[i - 1], v[i])) return false;
    return true;
}

}  // namespace

bool same_ruleset_globals(const Model& a, const Model& b) {
    return a.node_addresses == b.node_addresses && a.cluster_cidrs == b.cluster_cidrs &&
           a.service_cidrs == b.service_cidrs && a.masquerade == b.masquerade;
}

bool changed_services(const Model& a, const Model& b, ServiceChanges& out) {
    out = {};
    if (!sorted(a.services) || !sorted(b.services)) return false;
    size_t i = 0, j = 0;
    while (i < a.services.size() || j < b.services.size()) {
        if (j == b.services.size() || (i < a.services.size() && key_less(a.services[i], b.services[j]))) {
            out.before.push_back(&a.services[i++]);
        } else if (i == a.services.size() || key_less(b.services[j], a.services[i])) {
            out.after.push_back(&b.services[j++]);
        } else {
            if (!(a.services[i] == b.services[j])) {
                out.before.push_back(&a.services[i]);
                out.after.push_back(&b.services[j]);
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

#include "control/kube/cluster_cache.hpp"

#include <set>

namespace nfgate::kube {

namespace {

// Two decodings of the same object say the same thing (resourceVersion aside).
bool same(const DecodedObject& a, const DecodedObject& b) {
    auto service_eq = [](const loader::ServiceSource& x, const loader::ServiceSource& y) {
        if (!(x.svc == y.svc) || x.ports.size() != y.ports.size()) return false;
        for (size_t i = 0; i < x.ports.size(); ++i)
            if (x.ports[i].target_name != y.ports[i].target_name) return false;
        return true;
    };
    auto slice_eq = [](const loader::SliceSource& x, const loader::SliceSource& y) {
        if (x.service_name != y.service_name || x.ports.size() != y.ports.size() || !(x.addresses == y.addresses))
            return false;
        for (size_t i = 0; i < x.ports.size(); ++i)
            if (x.ports[i].name != y.ports[i].name || x.ports[i].proto != y.ports[i].proto ||
                x.ports[i].port != y.ports[i].port)
                return false;
        return true;
    };
    if (a.service.has_value() != b.service.has_value() || a.slice.has_value() != b.slice.has_value()) return false;
    if (a.service) return service_eq(*a.service, *b.service);
    if (a.slice) return slice_eq(*a.slice, *b.slice);
    return true;
}

}  // namespace

bool ClusterCache::put(DecodedObject obj, std::vector<loader::Diag>& errors, std::vector<loader::Diag>& notices) {
    errors.insert(errors.end(), obj.errors.begin(), obj.errors.end());
    notices.insert(notices.end(), obj.notices.begin(), obj.notices.end());
    auto it = objects_.find(obj.key);
    if (!obj.usable()) {
        // Skipped: an object that turned invalid is served no longer (as if deleted).
        if (it == objects_.end()) return false;
        objects_.erase(it);
        return true;
    }
    if (it != objects_.end() && same(it->second, obj)) {
        it->second.resource_version = obj.resource_version;
        return false;
    }
    ObjectKey key = obj.key;
    objects_.insert_or_assign(std::move(key), std::move(obj));
    return true;
}

bool ClusterCache::apply(Change change, std::vector<loader::Diag>& errors, std::vector<loader::Diag>& notices) {
    bool changed = false;
    switch (change.op) {
        case Change::Op::remove:
            for (const auto& o : change.objects) changed = objects_.erase(o.key) != 0 || changed;
            break;
        case Change::Op::upsert:
            for (auto& o : change.objects) changed = put(std::move(o), errors, notices) || changed;
            break;
        case Change::Op::replace: {
            // A relist: what it does not hold was deleted while nobody watched.
            std::set<ObjectKey> listed;
            for (const auto& o : change.objects) listed.insert(o.key);
            for (auto it = objects_.begin(); it != objects_.end();) {
                if (it->first.resource == change.resource && !listed.count(it->first)) {
                    it = objects_.erase(it);
                    changed = true;
                } else {
                    ++it;
                }
            }
            for (auto& o : change.objects) changed = put(std::move(o), errors, notices) || changed;
            break;
        }
    }
    return changed;
}

loader::ManifestObjects ClusterCache::objects() const {
    loader::ManifestObjects out;
    out.services.reserve(objects_.size());
    out.slices.reserve(objects_.size());
    for (const auto& [key, o] : objects_) {
        if (o.service) out.services.push_back(*o.service);
        if (o.slice) out.slices.push_back(*o.slice);
    }
    return out;
}

}  // namespace nfgate::kube

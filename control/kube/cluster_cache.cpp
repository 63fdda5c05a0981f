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
        if (x.service_name != y.service_name || x.ports.size() != y.ports.size() || !(x.addresses == y.addresses) || !(x.addresses6 == y.addresses6))
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

void ClusterCache::touch(const ObjectKey& key, const DecodedObject& obj) {
    touched_.objects.insert(key);
    if (obj.service) touched_.services.insert(obj.service->svc.key());
    if (obj.slice) touched_.services.insert(obj.slice->service_key());
}

bool ClusterCache::erase(const ObjectKey& key) {
    auto it = objects_.find(key);
    if (it == objects_.end()) return false;
    touch(key, it->second);
    if (it->second.slice) {
        auto idx = slices_by_service_.find(it->second.slice->service_key());
        idx->second.erase(key);
        if (idx->second.empty()) slices_by_service_.erase(idx);
    }
    objects_.erase(it);
    return true;
}

void ClusterCache::store(DecodedObject obj) {
    erase(obj.key);
    touch(obj.key, obj);
    if (obj.slice) slices_by_service_[obj.slice->service_key()].insert(obj.key);
    ObjectKey key = obj.key;
    objects_.emplace(std::move(key), std::move(obj));
}

bool ClusterCache::put(DecodedObject obj, std::vector<loader::Diag>& errors, std::vector<loader::Diag>& notices) {
    errors.insert(errors.end(), obj.errors.begin(), obj.errors.end());
    notices.insert(notices.end(), obj.notices.begin(), obj.notices.end());
    // Skipped: an object that turned invalid is served no longer (as if deleted).
    if (!obj.usable()) return erase(obj.key);
    auto it = objects_.find(obj.key);
    if (it != objects_.end() && same(it->second, obj)) {
        it->second.resource_version = obj.resource_version;
        return false;
    }
    store(std::move(obj));
    return true;
}

const loader::ServiceSource* ClusterCache::service(const std::string& key) const {
    const auto slash = key.find('/');
    auto it = objects_.find(ObjectKey{Resource::services, key.substr(0, slash), key.substr(slash + 1)});
    return it == objects_.end() || !it->second.service ? nullptr : &*it->second.service;
}

std::vector<const loader::SliceSource*> ClusterCache::slices_of(const std::string& service_key) const {
    std::vector<const loader::SliceSource*> out;
    auto idx = slices_by_service_.find(service_key);
    if (idx == slices_by_service_.end()) return out;
    for (const auto& k : idx->second) out.push_back(&*objects_.at(k).slice);
    return out;
}

bool ClusterCache::apply(Change change, std::vector<loader::Diag>& errors, std::vector<loader::Diag>& notices) {
    bool changed = false;
    switch (change.op) {
        case Change::Op::remove:
            for (const auto& o : change.objects) changed = erase(o.key) || changed;
            break;
        case Change::Op::upsert:
            for (auto& o : change.objects) changed = put(std::move(o), errors, notices) || changed;
            break;
        case Change::Op::replace: {
            // A relist: what it does not hold was deleted while nobody watched.
            std::set<ObjectKey> listed, gone;
            for (const auto& o : change.objects) listed.insert(o.key);
            for (const auto& [key, o] : objects_)
                if (key.resource == change.resource && !listed.count(key)) gone.insert(key);
            for (const auto& key : gone) changed = erase(key) || changed;
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

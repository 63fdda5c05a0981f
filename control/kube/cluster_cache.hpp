// What the API server says now: every Service and EndpointSlice by namespace and name, as
// decoded (usable or not). Filled on the control thread from the watchers' changes.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "control/kube/api_decode.hpp"

namespace nfgate::kube {

// One change a watcher hands over: a relist's full set of one resource, or one event.
struct Change {
    enum class Op { replace, upsert, remove } op = Op::upsert;
    Resource resource = Resource::services;
    std::vector<DecodedObject> objects;  // replace: the whole list; upsert/remove: one
    // When its bytes arrived (a watch event's line, a list's last page): where its time to
    // being live starts.
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};

class ClusterCache {
public:
    // True when what the cache holds changed (an identical MODIFIED, as a resync sends, does not).
    // Objects that are not usable are logged through `errors`/`notices` and held as absent.
    bool apply(Change change, std::vector<loader::Diag>& errors, std::vector<loader::Diag>& notices);

    // The usable objects, in the loader's input shape (sorted by resource, namespace, name).
    loader::ManifestObjects objects() const;
    size_t size() const { return objects_.size(); }
    bool contains(const ObjectKey& k) const { return objects_.count(k) != 0; }

    // One Service by "namespace/name", and the slices naming it (in key order, as objects()).
    const loader::ServiceSource* service(const std::string& key) const;
    std::vector<const loader::SliceSource*> slices_of(const std::string& service_key) const;

    // What changed since the last take: the objects, and the Services ("namespace/name") whose
    // assembly they touch (a Service itself; the Service a slice names, before and after).
    struct Touched {
        std::set<ObjectKey> objects;
        std::set<std::string> services;
    };
    Touched take_touched() { return std::exchange(touched_, {}); }

private:
    bool put(DecodedObject obj, std::vector<loader::Diag>& errors, std::vector<loader::Diag>& notices);
    void store(DecodedObject obj);
    bool erase(const ObjectKey& key);
    void touch(const ObjectKey& key, const DecodedObject& obj);

    std::map<ObjectKey, DecodedObject> objects_;
    std::map<std::string, std::set<ObjectKey>> slices_by_service_;  // "namespace/service-name"
    Touched touched_;
};

}  // namespace nfgate::kube

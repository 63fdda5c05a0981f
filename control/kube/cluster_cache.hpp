// What the API server says now: every Service and EndpointSlice by namespace and name, as
// decoded (usable or not). Filled on the control thread from the watchers' changes.
#pragma once

#include <map>
#include <vector>

#include "control/kube/api_decode.hpp"

namespace nfgate::kube {

// One change a watcher hands over: a relist's full set of one resource, or one event.
struct Change {
    enum class Op { replace, upsert, remove } op = Op::upsert;
    Resource resource = Resource::services;
    std::vector<DecodedObject> objects;  // replace: the whole list; upsert/remove: one
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

private:
    bool put(DecodedObject obj, std::vector<loader::Diag>& errors, std::vector<loader::Diag>& notices);
    std::map<ObjectKey, DecodedObject> objects_;
};

}  // namespace nfgate::kube

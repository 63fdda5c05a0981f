// Objects from the API server's answers (a List page, one watch event line) decoded straight
// into the loader's input types, checked by the same readers as manifest files. API objects
// have no file lines: errors name "kubernetes API" and the object.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/loader/manifest_objects.hpp"

namespace nfgate::kube {

// What error messages about API objects name in place of a file.
inline constexpr const char* kApiSource = "kubernetes API";

enum class Resource { services, endpoint_slices };
const char* resource_name(Resource r);  // "services", "endpointslices"

struct ObjectKey {
    Resource resource = Resource::services;
    std::string ns;
    std::string name;
    auto operator<=>(const ObjectKey&) const = default;
    std::string str() const;  // "Service ns/name", "EndpointSlice ns/name"
};

// One object as the API server sent it: usable (service or slice set), or not (errors:
// invalid, skipped with a reason in notices: FQDN slices, no service-name label...).
struct DecodedObject {
    ObjectKey key;
    std::optional<loader::ServiceSource> service;
    std::optional<loader::SliceSource> slice;
    std::string resource_version;
    std::vector<loader::Diag> errors;
    std::vector<loader::Diag> notices;
    bool usable() const { return service || slice; }
};

struct ListPage {
    std::vector<DecodedObject> items;
    std::string resource_version;  // metadata.resourceVersion: where the watch starts
    std::string continue_token;    // metadata.continue: empty on the last page
};

struct WatchEvent {
    enum class Type { added, modified, deleted, bookmark, error } type = Type::added;
    DecodedObject object;          // added, modified, deleted
    std::string resource_version;  // of the object, or the bookmark
    int code = 0;                  // error: the Status's code (410: the resourceVersion is gone)
    std::string message;           // error: the Status's message
};

// `gateway` gives what the readers check against (nodePortRange, serviceCIDRs, zone).
// False with `err` when the text is not the JSON shape the API documents.
bool decode_list(std::string_view body, Resource resource, const Model& gateway, ListPage& out, std::string& err);
bool decode_event(std::string_view line, Resource resource, const Model& gateway, WatchEvent& out, std::string& err);

}  // namespace nfgate::kube

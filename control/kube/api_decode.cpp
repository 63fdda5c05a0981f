#include "control/kube/api_decode.hpp"

#include "control/loader/json_reader.hpp"
#include "control/loader/service_reader.hpp"
#include "control/loader/slice_reader.hpp"

namespace nfgate::kube {

namespace {

using loader::YNode;

const std::string kSource = kApiSource;

// The API server omits a List item's kind and apiVersion (they are the List's); a watch
// event's object carries them. Either way the resource being read decides.
void decode_object(YNode obj, Resource resource, const Model& gateway, DecodedObject& out) {
    YNode meta = obj.get("metadata");
    out.key.resource = resource;
    out.key.name = meta.get("name").str();
    out.key.ns = meta.get("namespace").str();
    if (out.key.ns.empty()) out.key.ns = "default";
    out.resource_version = meta.get("resourceVersion").str();
    loader::Reporter r(kSource, out.errors, out.notices);
    r.set_object(out.key.str());
    if (!obj.is_map()) {
        r.error(0, "", "want an object (a JSON mapping), got " + obj.describe());
        return;
    }
    if (resource == Resource::services) {
        std::vector<loader::ServiceSource> one;
        loader::read_service(r, obj, gateway, one);
        if (!one.empty()) out.service = std::move(one.front());
    } else {
        std::vector<loader::SliceSource> one;
        loader::read_endpoint_slice(r, obj, gateway, one);
        if (!one.empty()) out.slice = std::move(one.front());
    }
}

}  // namespace

const char* resource_name(Resource r) { return r == Resource::services ? "services" : "endpointslices"; }

std::string ObjectKey::str() const {
    return std::string(resource == Resource::services ? "Service " : "EndpointSlice ") + ns + "/" + name;
}

bool decode_list(std::string_view body, Resource resource, const Model& gateway, ListPage& out, std::string& err) {
    loader::YamlTree tree;
    if (!loader::parse_json(tree, body, 0) || !tree.document(0).is_map()) {
        err = "the list answer is not a JSON object";
        return false;
    }
    YNode root = tree.document(0);
    YNode items = root.get("items");
    if (!items.is_seq() && !items.is_null()) {
        err = "the list answer's items is " + items.describe() + ", not a list";
        return false;
    }
    out.resource_version = root.get("metadata").get("resourceVersion").str();
    out.continue_token = root.get("metadata").get("continue").str();
    if (out.resource_version.empty()) {
        err = "the list answer has no metadata.resourceVersion";
        return false;
    }
    out.items.clear();
    out.items.resize(items.is_seq() ? items.size() : 0);
    for (size_t i = 0; i < out.items.size(); ++i) decode_object(items.item(i), resource, gateway, out.items[i]);
    return true;
}

bool decode_event(std::string_view line, Resource resource, const Model& gateway, WatchEvent& out, std::string& err) {
    loader::YamlTree tree;
    if (!loader::parse_json(tree, line, 0) || !tree.document(0).is_map()) {
        err = "a watch event is not a JSON object";
        return false;
    }
    YNode root = tree.document(0);
    std::string_view type = root.get("type").str();
    YNode obj = root.get("object");
    out = WatchEvent{};
    if (type == "ERROR") {
        // The object is a Status: {"kind":"Status","code":410,"reason":"Expired","message":...}
        out.type = WatchEvent::Type::error;
        std::string_view code = obj.get("code").str();
        out.code = 0;
        for (char c : code) out.code = c >= '0' && c <= '9' ? out.code * 10 + (c - '0') : out.code;
        out.message = obj.get("message").str();
        return true;
    }
    if (!obj.is_map()) {
        err = "a watch event of type \"" + std::string(type) + "\" has no object";
        return false;
    }
    if (type == "BOOKMARK") {
        out.type = WatchEvent::Type::bookmark;
        out.resource_version = obj.get("metadata").get("resourceVersion").str();
        return true;
    }
    if (type == "ADDED") out.type = WatchEvent::Type::added;
    else if (type == "MODIFIED") out.type = WatchEvent::Type::modified;
    else if (type == "DELETED") out.type = WatchEvent::Type::deleted;
    else {
        err = "unknown watch event type \"" + std::string(type) + "\"";
        return false;
    }
    decode_object(obj, resource, gateway, out.object);
    out.resource_version = out.object.resource_version;
    return true;
}

}  // namespace nfgate::kube

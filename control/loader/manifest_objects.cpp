#include "control/loader/manifest_objects.hpp"

#include "control/loader/service_reader.hpp"
#include "control/loader/slice_reader.hpp"

namespace nfgate::loader {

namespace {

void read_object(Reporter& r, YNode obj, const FieldPath& where, const Model& gateway, ManifestObjects& out,
                 int depth);

void read_list(Reporter& r, YNode obj, const Model& gateway, ManifestObjects& out, int depth) {
    FieldPath items{nullptr, "items", -1};
    for_each_item(r, obj.get("items"), items, [&](YNode item, const FieldPath& p) {
        read_object(r, item, p, gateway, out, depth + 1);
    });
}

void read_object(Reporter& r, YNode obj, const FieldPath& where, const Model& gateway, ManifestObjects& out,
                 int depth) {
    if (obj.is_null()) return;  // an empty document ("---" at the end of a file)
    r.set_object("");
    if (!obj.is_map()) {
        r.error(obj.line(), where, "want a Kubernetes object (a mapping with apiVersion and kind), got " +
                                       obj.describe());
        return;
    }
    std::string_view kind = obj.get("kind").str();
    std::string_view api = obj.get("apiVersion").str();
    // kubectl prints a `List`; the API server itself answers with `ServiceList`, `EndpointSliceList`.
    bool is_list = kind == "List" || (kind.ends_with("List") && obj.get("items").present());
    if (is_list && depth == 0) {
        read_list(r, obj, gateway, out, depth);
        return;
    }
    YNode meta = obj.get("metadata");
    std::string name(meta.get("name").str());
    std::string ns(meta.get("namespace").str());
    const bool service = kind == "Service" && api == "v1";
    // discovery.k8s.io/v1beta1 (clusters 1.17-1.24) differs from v1 in fields nfgate does not
    // read (topology instead of nodeName/zone); its conditions and ports read the same.
    const bool slice = kind == "EndpointSlice" && (api == "discovery.k8s.io/v1" || api == "discovery.k8s.io/v1beta1");
    // Services and EndpointSlices without a namespace are in "default"; any other object
    // without one is cluster-scoped (ClusterRole, Node, ...) and named by its name alone.
    if (ns.empty() && (service || slice)) ns = "default";
    r.set_object(std::string(kind.empty() ? "object" : kind) + " " + (ns.empty() ? name : ns + "/" + name));

    if (service) {
        read_service(r, obj, gateway, out.services);
    } else if (slice) {
        read_endpoint_slice(r, obj, gateway, out.slices);
    } else if (kind.empty() || api.empty()) {
        r.error(obj.line(), kind.empty() ? "kind" : "apiVersion",
                "missing (want a Kubernetes object: apiVersion v1 kind Service, or apiVersion "
                "discovery.k8s.io/v1 kind EndpointSlice)");
    } else {
        r.notice(obj.line(), "skipped: " + std::string(api) + " " + std::string(kind) +
                                 " (nfgate reads v1 Service and discovery.k8s.io/v1 or v1beta1 EndpointSlice)");
    }
}

}  // namespace

void read_manifest_documents(const YamlTree& tree, size_t first_document, const std::string& file,
                             std::vector<Diag>& errors, std::vector<Diag>& notices, const Model& gateway,
                             ManifestObjects& out) {
    Reporter r(file, errors, notices);
    for (size_t i = 0; i < tree.documents().size(); ++i) {
        FieldPath doc{nullptr, "document", -1};
        read_object(r, tree.document(i), doc.at(first_document + i), gateway, out, 0);
    }
}

}  // namespace nfgate::loader

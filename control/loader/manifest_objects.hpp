// Kubernetes objects as read from the manifests, before Services and EndpointSlices are joined.
#pragma once

#include <string>
#include <vector>

#include "control/loader/field_reader.hpp"

namespace nfgate::loader {

struct ServicePortSource {
    std::string target_name;  // named targetPort; empty when numeric
    int line = 0;             // of the ports[] item
    int target_line = 0;
    int node_port_line = 0;
};

struct ServiceSource {
    Service svc;                             // endpoints still empty
    std::vector<ServicePortSource> ports;    // parallel to svc.ports
    std::string file;
    int line = 0;
};

struct SlicePort {
    std::string name;
    Proto proto = Proto::tcp;
    uint16_t port = 0;
};

struct SliceSource {
    std::string ns;
    std::string name;
    std::string service_name;
    std::vector<SlicePort> ports;
    std::vector<Endpoint> addresses;    // port left 0: set per matching slice port
    std::vector<Endpoint6> addresses6;  // the same for a slice of addressType IPv6
    std::string file;
    int line = 0;
    std::string key() const { return ns + "/" + name; }
    std::string service_key() const { return ns + "/" + service_name; }  // as Service::key()
};

struct ManifestObjects {
    std::vector<ServiceSource> services;
    std::vector<SliceSource> slices;
};

// Reads every document of one parsed manifest file: Lists are unpacked, v1 Services and
// discovery.k8s.io/v1 and v1beta1 EndpointSlices kept, anything else skipped with a notice.
// `first_document` numbers the tree's documents within the file (a file may be parsed in pieces).
void read_manifest_documents(const YamlTree& tree, size_t first_document, const std::string& file,
                             std::vector<Diag>& errors, std::vector<Diag>& notices, const Model& gateway,
                             ManifestObjects& out);

}  // namespace nfgate::loader

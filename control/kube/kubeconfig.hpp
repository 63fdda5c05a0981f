// Where the Kubernetes API server is and how nfgate proves who it is: from a kubeconfig file
// (its current context) or from the pod's service account (in-cluster mode).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "control/loader/diag.hpp"

namespace nfgate::kube {

struct ApiEndpoint {
    std::string server;            // "https://host:port", no trailing slash
    std::string ca_pem;            // certificate-authority-data, decoded
    std::string ca_file;           // certificate-authority (read by libcurl at each connection)
    std::string token;             // a bearer token written in the kubeconfig
    std::string token_file;        // a bearer token file, re-read when it changes (rotation)
    std::string client_cert_pem;   // client-certificate-data, decoded
    std::string client_key_pem;    // client-key-data, decoded
    std::string client_cert_file;  // client-certificate
    std::string client_key_file;   // client-key
    std::string origin;            // "kubeconfig FILE, context NAME" or "in-cluster", for logs
};

// Reads the kubeconfig at `path` and picks its current-context's cluster and user. Relative
// paths in it are relative to its directory, as kubectl reads them. Refuses what would weaken
// or bypass verification (insecure-skip-tls-verify, plain http) and what nfgate cannot run
// (exec and auth-provider plugins, basic auth). False with every error in `errors`.
bool read_kubeconfig(const std::string& path, ApiEndpoint& out, std::vector<loader::Diag>& errors);

// What a pod sees: the service account directory (token, ca.crt) and the environment's
// KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT.
struct InCluster {
    std::string account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    std::function<const char*(const char*)> getenv;  // empty: ::getenv
};
bool in_cluster_endpoint(const InCluster& where, ApiEndpoint& out, std::vector<loader::Diag>& errors);

// RFC 4648 base64 (the kubeconfig's *-data fields); false on anything else.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace nfgate::kube

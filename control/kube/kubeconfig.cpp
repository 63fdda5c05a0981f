#include "control/kube/kubeconfig.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/loader/field_reader.hpp"

namespace nfgate::kube {

namespace {

using loader::Diag;
using loader::FieldPath;
using loader::Reporter;
using loader::YamlTree;
using loader::YNode;

namespace fs = std::filesystem;

bool slurp(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream s;
    s << in.rdbuf();
    out = s.str();
    return true;
}

std::string relative_to(const std::string& file, const std::string& path) {
    if (path.empty() || fs::path(path).is_absolute()) return path;
    return (fs::path(file).parent_path() / path).lexically_normal().string();
}

// The entry of list `key` (clusters, users, contexts) whose name is `name`, and its inner
// mapping (`inner`: cluster, user, context).
YNode named_entry(Reporter& r, YNode root, std::string_view key, std::string_view inner, const std::string& name,
                  int line) {
    FieldPath list{nullptr, key, -1};
    YNode found;
    loader::for_each_item(r, root.get(key), list, [&](YNode item, const FieldPath&) {
        if (item.get("name").str() == name && !found.present()) found = item.get(inner);
    });
    if (!found.is_map())
        r.error(line, list, "no entry named \"" + name + "\" with a " + std::string(inner) + " mapping (want one, as kubectl config view shows)");
    return found;
}

void read_data(Reporter& r, YNode n, const FieldPath& f, std::string& out) {
    std::string text;
    if (!loader::read_string(r, n, f, text)) return;
    if (!base64_decode(text, out)) r.error(n.line(), f, "not base64 (want the PEM file's bytes, base64-encoded)");
}

void read_cluster(Reporter& r, YNode c, const std::string& file, ApiEndpoint& out) {
    FieldPath f{nullptr, "cluster", -1};
    loader::read_string(r, c.get("server"), f.child("server"), out.server);
    while (out.server.ends_with('/')) out.server.pop_back();
    if (out.server.empty())
        r.error(c.line(), f.child("server"), "missing (want https://HOST:PORT of the API server)");
    else if (!out.server.starts_with("https://"))
        r.error(c.get("server").line(), f.child("server"),
                "\"" + out.server + "\" is not https:// (nfgate only talks to the API server over TLS, its certificate verified)");
    bool insecure = false;
    if (loader::read_bool(r, c.get("insecure-skip-tls-verify"), f.child("insecure-skip-tls-verify"), insecure) && insecure)
        r.error(c.get("insecure-skip-tls-verify").line(), f.child("insecure-skip-tls-verify"),
                "true is refused: nfgate always verifies the API server's certificate (want certificate-authority or certificate-authority-data)");
    // Verifying against another name than the URL's host needs a resolver override that nfgate
    // does not do; refusing is safer than verifying the wrong name.
    if (c.get("tls-server-name").present())
        r.error(c.get("tls-server-name").line(), f.child("tls-server-name"),
                "not supported (want a server URL whose host name is in the API server's certificate)");
    read_data(r, c.get("certificate-authority-data"), f.child("certificate-authority-data"), out.ca_pem);
    std::string ca;
    if (loader::read_string(r, c.get("certificate-authority"), f.child("certificate-authority"), ca))
        out.ca_file = relative_to(file, ca);
}

void read_user(Reporter& r, YNode u, const std::string& file, ApiEndpoint& out) {
    FieldPath f{nullptr, "user", -1};
    for (std::string_view unsupported : {"exec", "auth-provider", "username", "password"})
        if (u.get(unsupported).present())
            r.error(u.get(unsupported).line(), f.child(unsupported),
                    "not supported (want token, tokenFile, or client-certificate and client-key; e.g. a service account token)");
    loader::read_string(r, u.get("token"), f.child("token"), out.token);
    std::string path;
    if (loader::read_string(r, u.get("tokenFile"), f.child("tokenFile"), path)) out.token_file = relative_to(file, path);
    read_data(r, u.get("client-certificate-data"), f.child("client-certificate-data"), out.client_cert_pem);
    read_data(r, u.get("client-key-data"), f.child("client-key-data"), out.client_key_pem);
    if (loader::read_string(r, u.get("client-certificate"), f.child("client-certificate"), path))
        out.client_cert_file = relative_to(file, path);
    if (loader::read_string(r, u.get("client-key"), f.child("client-key"), path))
        out.client_key_file = relative_to(file, path);
    const bool cert = !out.client_cert_pem.empty() || !out.client_cert_file.empty();
    const bool key = !out.client_key_pem.empty() || !out.client_key_file.empty();
    if (cert != key)
        r.error(u.line(), f.child(cert ? "client-key" : "client-certificate"),
                "missing (a client certificate needs its key, and a key its certificate)");
}

}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
    out.clear();
    uint32_t acc = 0;
    int bits = 0;
    size_t pad = 0, chars = 0;
    for (char c : in) {
        if (c == '\n' || c == '\r' || c == ' ') continue;
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else if (c == '=') {
            ++pad, ++chars;
            continue;
        } else return false;
        if (pad) return false;  // data after padding
        ++chars;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return chars % 4 == 0 && pad <= 2;
}

bool read_kubeconfig(const std::string& path, ApiEndpoint& out, std::vector<Diag>& errors) {
    std::vector<Diag> notices;
    std::string text, err;
    if (!slurp(path, text)) {
        errors.push_back(Diag{path, 0, "kubernetes", "kubeconfig",
                              std::string("cannot read it: ") + std::strerror(errno) +
                                  " (want a kubeconfig file, as kubectl config view --raw prints)"});
        return false;
    }
    YamlTree tree;
    int line = 0;
    if (!tree.parse(text, err, line)) {
        errors.push_back(Diag{path, line, "", "", "malformed YAML: " + err});
        return false;
    }
    if (tree.documents().size() != 1 || !tree.document(0).is_map()) {
        errors.push_back(Diag{path, 1, "", "", "want one YAML mapping (a kubeconfig, as kubectl config view --raw prints)"});
        return false;
    }
    const size_t before = errors.size();
    Reporter r(path, errors, notices);
    YNode root = tree.document(0);
    r.set_object("kubeconfig");
    std::string context;
    FieldPath cur{nullptr, "current-context", -1};
    if (!loader::require(r, root.get("current-context"), root.line(), cur, "the name of the context to use") ||
        !loader::read_string(r, root.get("current-context"), cur, context))
        return false;
    r.set_object("context " + context);
    YNode ctx = named_entry(r, root, "contexts", "context", context, root.get("current-context").line());
    if (!ctx.present()) return false;
    std::string cluster_name(ctx.get("cluster").str()), user_name(ctx.get("user").str());
    r.set_object("cluster " + cluster_name);
    YNode cluster = named_entry(r, root, "clusters", "cluster", cluster_name, ctx.line());
    if (cluster.present()) read_cluster(r, cluster, path, out);
    if (!user_name.empty()) {
        r.set_object("user " + user_name);
        YNode user = named_entry(r, root, "users", "user", user_name, ctx.line());
        if (user.present()) read_user(r, user, path, out);
    }
    out.origin = "kubeconfig " + path + ", context " + context;
    return errors.size() == before;
}

bool in_cluster_endpoint(const InCluster& where, ApiEndpoint& out, std::vector<Diag>& errors) {
    auto env = [&](const char* name) -> std::string {
        const char* v = where.getenv ? where.getenv(name) : std::getenv(name);
        return v ? v : "";
    };
    const std::string host = env("KUBERNETES_SERVICE_HOST"), port = env("KUBERNETES_SERVICE_PORT");
    const size_t before = errors.size();
    if (host.empty() || port.empty())
        errors.push_back(Diag{"", 0, "kubernetes", "inCluster",
                              "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod? want kubeconfig: PATH)"});
    const std::string token = where.account_dir + "/token", ca = where.account_dir + "/ca.crt";
    std::error_code ec;
    if (!fs::is_regular_file(token, ec))
        errors.push_back(Diag{token, 0, "kubernetes", "inCluster", "no service account token here"});
    if (!fs::is_regular_file(ca, ec))
        errors.push_back(Diag{ca, 0, "kubernetes", "inCluster", "no service account CA certificate here"});
    if (errors.size() != before) return false;
    // An IPv6 address goes in brackets in a URL (RFC 3986 3.2.2).
    out.server = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
    out.token_file = token;
    out.ca_file = ca;
    out.origin = "in-cluster (" + where.account_dir + ")";
    return true;
}

}  // namespace nfgate::kube

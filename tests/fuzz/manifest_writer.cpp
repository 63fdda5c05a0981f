#include "tests/fuzz/manifest_writer.hpp"

#include <cstdio>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "control/loader/service_reader.hpp"

namespace nfgate::fuzz {
namespace {

// A small document tree, printed as block YAML or as JSON.
struct Node {
    enum Kind { object, array, string, number, boolean } kind = object;
    std::string text;                                   // string/number/boolean
    std::vector<std::string> keys;  // object: keys[i] names values[i]
    std::vector<Node> values;       // object
    std::vector<Node> items;        // array

    static Node str(std::string s) { return Node{string, std::move(s), {}, {}, {}}; }
    static Node num(uint64_t v) { return Node{number, std::to_string(v), {}, {}, {}}; }
    static Node flag(bool b) { return Node{boolean, b ? "true" : "false", {}, {}, {}}; }
    static Node arr() { return Node{array, {}, {}, {}, {}}; }
    Node& set(std::string key, Node v) {
        keys.push_back(std::move(key));
        values.push_back(std::move(v));
        return values.back();
    }
    Node& push(Node v) {
        items.push_back(std::move(v));
        return items.back();
    }
};

// Double-quoted with JSON escapes: valid in both formats for printable ASCII.
std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string scalar(const Node& n) { return n.kind == Node::string ? quote(n.text) : n.text; }

bool is_scalar(const Node& n) { return n.kind != Node::object && n.kind != Node::array; }

void json(const Node& n, std::string& out) {
    if (is_scalar(n)) {
        out += scalar(n);
    } else if (n.kind == Node::array) {
        out += '[';
        for (size_t i = 0; i < n.items.size(); ++i) {
            if (i) out += ',';
            json(n.items[i], out);
        }
        out += ']';
    } else {
        out += '{';
        for (size_t i = 0; i < n.keys.size(); ++i) {
            if (i) out += ",\n";
            out += quote(n.keys[i]) + ": ";
            json(n.values[i], out);
        }
        out += '}';
    }
}

void yaml(const Node& n, int indent, std::string& out);

// One "key: value" or "- value" entry; containers go on the following lines.
void yaml_entry(const std::string& lead, const Node& v, int indent, std::string& out) {
    out += lead;
    if (is_scalar(v)) {
        out += ' ' + scalar(v) + '\n';
    } else if (v.kind == Node::array && v.items.empty()) {
        out += " []\n";
    } else if (v.kind == Node::object && v.keys.empty()) {
        out += " {}\n";
    } else {
        out += '\n';
        yaml(v, indent + 2, out);
    }
}

void yaml(const Node& n, int indent, std::string& out) {
    std::string pad(static_cast<size_t>(indent), ' ');
    if (n.kind == Node::array) {
        for (const Node& item : n.items) yaml_entry(pad + "-", item, indent, out);
    } else {
        for (size_t i = 0; i < n.keys.size(); ++i) yaml_entry(pad + quote(n.keys[i]) + ":", n.values[i], indent, out);
    }
}

Node ip_list(const std::vector<uint32_t>& ips) {
    Node a = Node::arr();
    for (uint32_t ip : ips) a.push(Node::str(ip_to_string(ip)));
    return a;
}

Node service_object(const Service& s) {
    bool node_ports = false;
    for (const auto& p : s.ports) node_ports |= p.node_port != 0;
    const bool lb = !s.lb_ips.empty() || !s.lb_source_ranges.empty();
    Node o;
    o.set("apiVersion", Node::str("v1"));
    o.set("kind", Node::str("Service"));
    Node& meta = o.set("metadata", Node{});
    meta.set("name", Node::str(s.name));
    meta.set("namespace", Node::str(s.ns));
    Node& spec = o.set("spec", Node{});
    spec.set("type", Node::str(lb ? "LoadBalancer" : node_ports ? "NodePort" : "ClusterIP"));
    if (!s.cluster_ips.empty()) spec.set("clusterIPs", ip_list(s.cluster_ips));
    if (!s.external_ips.empty()) spec.set("externalIPs", ip_list(s.external_ips));
    if (s.external_traffic_policy == TrafficPolicy::local) spec.set("externalTrafficPolicy", Node::str("Local"));
    if (!s.lb_source_ranges.empty()) {
        Node& r = spec.set("loadBalancerSourceRanges", Node::arr());
        for (const Cidr& c : s.lb_source_ranges) r.push(Node::str(cidr_to_string(c)));
    }
    if (s.affinity_client_ip) {
        spec.set("sessionAffinity", Node::str("ClientIP"));
        spec.set("sessionAffinityConfig", Node{}).set("clientIP", Node{}).set("timeoutSeconds",
                                                                             Node::num(s.affinity_timeout_s));
    }
    Node& ports = spec.set("ports", Node::arr());
    for (const ServicePort& p : s.ports) {
        Node& e = ports.push(Node{});
        e.set("name", Node::str(p.name));
        e.set("protocol", Node::str(loader::protocol_api_name(p.proto)));
        e.set("port", Node::num(p.port));
        e.set("targetPort", Node::num(p.endpoints.empty() ? p.port : p.endpoints.front().port));
        if (p.node_port != 0) e.set("nodePort", Node::num(p.node_port));
    }
    if (!s.lb_ips.empty()) {
        Node& ingress = o.set("status", Node{}).set("loadBalancer", Node{}).set("ingress", Node::arr());
        for (uint32_t ip : s.lb_ips) ingress.push(Node{}).set("ip", Node::str(ip_to_string(ip)));
    }
    return o;
}

Node endpoint_node(const Endpoint& e, const std::string& zone_here, const std::string& zone_other) {
    Node n;
    n.set("addresses", ip_list({e.ip}));
    Node& c = n.set("conditions", Node{});
    c.set("ready", Node::flag(e.ready));
    c.set("serving", Node::flag(e.serving));
    c.set("terminating", Node::flag(e.terminating));
    if (e.zone_hint != ZoneHint::none) {
        const std::string& zone = e.zone_hint == ZoneHint::here ? zone_here : zone_other;
        n.set("hints", Node{}).set("forZones", Node::arr()).push(Node{}).set("name", Node::str(zone));
    }
    return n;
}

// One slice per Service port and endpoint port number: a slice's port carries one number.
void slice_objects(const Service& s, const std::string& zone_here, const std::string& zone_other,
                   std::vector<Node>& out) {
    int serial = 0;
    for (const ServicePort& p : s.ports) {
        std::map<uint16_t, std::vector<const Endpoint*>> by_port;
        for (const Endpoint& e : p.endpoints) by_port[e.port].push_back(&e);
        for (const auto& [number, eps] : by_port) {
            Node o;
            o.set("apiVersion", Node::str("discovery.k8s.io/v1"));
            o.set("kind", Node::str("EndpointSlice"));
            Node& meta = o.set("metadata", Node{});
            meta.set("name", Node::str(s.name + "-slice-" + std::to_string(serial++)));
            meta.set("namespace", Node::str(s.ns));
            meta.set("labels", Node{}).set("kubernetes.io/service-name", Node::str(s.name));
            o.set("addressType", Node::str("IPv4"));
            Node& port = o.set("ports", Node::arr()).push(Node{});
            port.set("name", Node::str(p.name));
            port.set("protocol", Node::str(loader::protocol_api_name(p.proto)));
            port.set("port", Node::num(number));
            Node& list = o.set("endpoints", Node::arr());
            for (const Endpoint* e : eps) list.push(endpoint_node(*e, zone_here, zone_other));
            out.push_back(std::move(o));
        }
    }
}

bool plain(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

}  // namespace

bool names_are_plain(const Model& m) {
    for (const Service& s : m.services) {
        if (!plain(s.ns) || !plain(s.name)) return false;
        for (const ServicePort& p : s.ports)
            if (!plain(p.name)) return false;
    }
    return true;
}

std::string write_manifests(const Model& m, ManifestFormat f, const std::string& zone_here,
                            const std::string& zone_other) {
    Node list;
    list.set("apiVersion", Node::str("v1"));
    list.set("kind", Node::str("List"));
    Node& items = list.set("items", Node::arr());
    std::vector<Node> slices;
    for (const Service& s : m.services) {
        items.push(service_object(s));
        slice_objects(s, zone_here, zone_other, slices);
    }
    for (Node& n : slices) items.push(std::move(n));
    std::string out;
    if (f == ManifestFormat::json) {
        json(list, out);
        out += '\n';
    } else {
        yaml(list, 0, out);
    }
    return out;
}

}  // namespace nfgate::fuzz

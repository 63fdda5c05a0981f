#include "tests/nft/fixtures.hpp"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace nfgate::nft::testing {

uint32_t ip(const char* s) {
    uint32_t v = 0;
    if (!parse_ipv4(s, v)) throw std::invalid_argument(s);
    return v;
}

Cidr cidr(const char* s) {
    Cidr c;
    if (!parse_cidr(s, c)) throw std::invalid_argument(s);
    return c;
}

Endpoint ep(const char* addr, uint16_t port, bool ready) { return Endpoint{ip(addr), port, ready}; }

Model base_model() {
    Model m;
    m.node_addresses = {ip("192.0.2.1")};
    m.cluster_cidrs = {cidr("10.244.0.0/16")};
    m.service_cidrs = {cidr("10.96.0.0/12")};
    m.masquerade.egress = true;
    m.masquerade.non_masquerade_cidrs = {cidr("10.0.0.0/8")};
    return m;
}

namespace {

Service web() {
    Service s;
    s.ns = "default";
    s.name = "web";
    s.cluster_ips = {ip("10.96.0.10")};
    ServicePort p;
    p.name = "http";
    p.proto = Proto::tcp;
    p.port = 80;
    p.node_port = 30080;
    p.endpoints = {ep("10.244.1.5", 8080), ep("10.244.2.6", 8080), ep("10.244.3.7", 8080)};
    s.ports = {p};
    return s;
}

Service dns() {
    Service s;
    s.ns = "kube-system";
    s.name = "dns";
    s.cluster_ips = {ip("10.96.0.53")};
    for (Proto pr : {Proto::udp, Proto::tcp}) {
        ServicePort p;
        p.name = pr == Proto::udp ? "dns" : "dns-tcp";
        p.proto = pr;
        p.port = 53;
        p.endpoints = {ep("10.244.1.9", 53)};
        s.ports.push_back(p);
    }
    return s;
}

void sort_services(Model& m) {
    std::sort(m.services.begin(), m.services.end(),
              [](const Service& a, const Service& b) { return std::tie(a.ns, a.name) < std::tie(b.ns, b.name); });
}

}  // namespace

Model two_services() {
    Model m = base_model();
    m.services = {web(), dns()};
    sort_services(m);
    return m;
}

Model all_features() {
    Model m = two_services();
    m.cluster_cidrs.push_back(cidr("172.20.0.0/14"));

    Service sticky;
    sticky.ns = "shop";
    sticky.name = "cart";
    sticky.cluster_ips = {ip("10.96.1.20")};
    sticky.affinity_client_ip = true;
    sticky.affinity_timeout_s = 600;
    ServicePort sp;
    sp.proto = Proto::tcp;
    sp.port = 443;
    sp.endpoints = {ep("10.244.4.1", 8443), ep("10.244.4.2", 8443, false), ep("10.244.4.3", 8443)};
    sticky.ports = {sp};

    Service lb;
    lb.ns = "shop";
    lb.name = "front";
    lb.cluster_ips = {ip("10.96.1.30")};
    lb.external_ips = {ip("198.51.100.7")};
    lb.lb_ips = {ip("203.0.113.10")};
    lb.lb_source_ranges = {cidr("198.51.100.0/24"), cidr("192.0.2.128/25")};
    lb.external_traffic_policy = TrafficPolicy::local;
    ServicePort lp;
    lp.name = "https";
    lp.proto = Proto::tcp;
    lp.port = 443;
    lp.node_port = 31443;
    lp.endpoints = {ep("10.244.5.1", 443), ep("10.244.5.2", 443)};
    lb.ports = {lp};

    Service empty;
    empty.ns = "shop";
    empty.name = "idle";
    empty.cluster_ips = {ip("10.96.1.40")};
    ServicePort ip1;
    ip1.proto = Proto::udp;
    ip1.port = 9000;
    ip1.node_port = 30900;
    ip1.endpoints = {ep("10.244.6.1", 9000, false)};
    empty.ports = {ip1};

    m.services.push_back(sticky);
    m.services.push_back(lb);
    m.services.push_back(empty);
    sort_services(m);
    return m;
}

std::vector<Fixture> golden_fixtures() {
    std::vector<Fixture> out;
    out.push_back({"empty", base_model()});
    out.push_back({"two_services", two_services()});
    out.push_back({"all_features", all_features()});
    Model all = two_services();
    all.masquerade.all = true;
    all.masquerade.egress = false;
    out.push_back({"masquerade_all_no_egress", all});
    // conntrack.synProxy: on fills the proxy's set with the TCP frontends (not dns's UDP one);
    // newFlowsPerSource adds the per-source limit.
    Model flood = two_services();
    flood.syn_proxy = SynProxyMode::on;
    flood.new_flows_per_source = 20;
    flood.new_flows_per_source_burst = 50;
    out.push_back({"syn_proxy_and_source_limit", flood});
    return out;
}

}  // namespace nfgate::nft::testing

// The bench gateway's model and its neighbours' frames (no test framework: the burst fuzzer
// uses them too).
#include <cstdlib>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {

rte_ether_addr pod_mac(uint32_t pod_ip) {
    return rte_ether_addr{{0x02, 0x42, uint8_t(pod_ip >> 24), uint8_t(pod_ip >> 16), uint8_t(pod_ip >> 8), uint8_t(pod_ip)}};
}

Pkt from_router(Pkt p) {
    p.eth_src = kRouterMac;
    p.eth_dst = kExtMac;
    return p;
}
Pkt from_pod(Pkt p) {
    p.eth_src = pod_mac(p.src);
    p.eth_dst = kPodsMac;
    return p;
}

Pkt backend_reply(const Out& o, uint8_t flags) {
    Pkt r = from_pod(Pkt::tcp("0.0.0.1", o.dport, "0.0.0.1", o.sport, flags));
    r.src = o.dst;
    r.dst = o.src;
    r.eth_src = pod_mac(r.src);
    return r;
}

namespace {

Cidr cidr(const char* s) {
    Cidr c;
    if (!parse_cidr(s, c)) std::abort();
    return c;
}

ServicePort port(const char* name, Proto proto, uint16_t p, std::vector<const char*> eps, uint16_t target,
                 uint16_t node_port = 0) {
    ServicePort sp;
    sp.name = name;
    sp.proto = proto;
    sp.port = p;
    sp.node_port = node_port;
    for (const char* e : eps) sp.endpoints.push_back(Endpoint{ip(e), target, true});
    return sp;
}

}  // namespace

Model lab_model() {
    Model m;
    m.dataplane = DataplaneKind::dpdk;
    m.node_addresses = {ip("192.0.2.1")};
    m.cluster_cidrs = {cidr("10.244.0.0/16")};
    m.service_cidrs = {cidr("10.96.0.0/16")};
    m.masquerade.egress = true;
    m.masquerade.non_masquerade_cidrs = {cidr("10.244.0.0/16"), cidr("172.16.0.0/12")};
    m.interfaces = {Interface{"ext", "net_null0", IfAddr{ip("192.0.2.1"), 24}},
                    Interface{"pods", "net_null1", IfAddr{ip("10.244.0.1"), 16}}};
    m.routes = {Route{cidr("0.0.0.0/0"), ip("192.0.2.254")}};

    Service web;
    web.ns = "default";
    web.name = "web";
    web.cluster_ips = {ip("10.96.0.10")};
    web.external_ips = {ip("192.0.2.50")};
    web.ports = {port("http", Proto::tcp, 80, {"10.244.1.10", "10.244.1.11", "10.244.1.12"}, 8080, 30080)};

    Service dns;
    dns.ns = "kube-system";
    dns.name = "dns";
    dns.cluster_ips = {ip("10.96.0.53")};
    dns.ports = {port("dns", Proto::udp, 53, {"10.244.2.10", "10.244.2.11"}, 5353)};

    Service lb;
    lb.ns = "default";
    lb.name = "local-lb";
    lb.cluster_ips = {ip("10.96.0.40")};
    lb.lb_ips = {ip("192.0.2.100")};
    lb.external_traffic_policy = TrafficPolicy::local;
    lb.lb_source_ranges = {cidr("198.51.100.0/24")};
    lb.ports = {port("https", Proto::tcp, 443, {"10.244.3.10"}, 8443, 30443)};

    Service empty;
    empty.ns = "default";
    empty.name = "empty";
    empty.cluster_ips = {ip("10.96.0.20")};
    empty.ports = {port("http", Proto::tcp, 80, {}, 80), port("mdns", Proto::udp, 5353, {}, 5353)};

    Service sticky;
    sticky.ns = "default";
    sticky.name = "sticky";
    sticky.cluster_ips = {ip("10.96.0.30")};
    sticky.affinity_client_ip = true;
    sticky.affinity_timeout_s = 60;
    sticky.ports = {port("http", Proto::tcp, 80, {"10.244.4.10", "10.244.4.11", "10.244.4.12", "10.244.4.13"}, 80)};

    m.services = {dns, empty, lb, sticky, web};
    return m;
}

Model dual_stack_lab_model() {
    Model m = lab_model();
    m.interfaces[kExt].addresses6 = {IfAddr6{kGwExt6, 64}};
    m.interfaces[kPods].addresses6 = {IfAddr6{kGwPods6, 64}};
    m.node_addresses6 = {kGwExt6};
    m.cluster_cidrs6 = {Cidr6{ip6_prefix(kGwPods6, 64), 64}};
    m.service_cidrs6 = {Cidr6{ip6_prefix(kVip6, 112), 112}};
    m.masquerade.non_masquerade_cidrs6 = {Cidr6{ip6_prefix(kGwPods6, 64), 64}};
    m.routes6 = {Route6{Cidr6{Ip6{}, 0}, kRouter6}};
    for (Service& s : m.services) {
        if (s.name == "web") {
            s.cluster_ips6 = {kVip6};
            s.external_ips6 = {kExternal6};
            for (const Ip6& a : {kPodA6, kPodB6}) s.ports[0].endpoints6.push_back(Endpoint6{a, 8080});
        }
        if (s.name == "empty") s.cluster_ips6 = {kEmptyVip6};
    }
    return m;
}

void learn_lab_neighbours6(engine::NeighbourTable6& n, uint32_t now_s) {
    n.learn(kClient6, kClientMac, now_s);
    n.learn(kRouter6, kRouterMac, now_s);
    for (const Ip6& p : {kPodA6, kPodB6, kPodC6}) n.learn(p, kPodMac6, now_s);
}

void learn_lab_neighbours(engine::NeighbourTable& n, const Model& m, uint32_t now_s) {
    n.learn(ip("192.0.2.254"), kRouterMac, kExt, now_s);
    n.learn(ip("192.0.2.77"), kClientMac, kExt, now_s);
    for (const Service& s : m.services)
        for (const ServicePort& p : s.ports)
            for (const Endpoint& e : p.endpoints) n.learn(e.ip, pod_mac(e.ip), kPods, now_s);
    for (const char* pod : {"10.244.9.9", "10.244.9.10"}) n.learn(ip(pod), pod_mac(ip(pod)), kPods, now_s);
}

}  // namespace nfgate::test

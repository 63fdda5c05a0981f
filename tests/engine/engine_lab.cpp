#include "tests/engine/engine_lab.hpp"

#include <gtest/gtest.h>

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

Lab::Lab(const Model& m, LabOptions opt) : model(m) {
    engine::EngineConfig cfg = engine::EngineConfig::from_model(m);
    cfg.max_flows = opt.max_flows;
    cfg.workers = opt.workers;
    cfg.snat_port_min = opt.snat_port_min;
    cfg.snat_port_max = opt.snat_port_max;
    std::string err;
    shared = engine::EngineShared::create(cfg, err);
    if (!shared) ADD_FAILURE() << "EngineShared::create: " << err;
    worker_ = std::make_unique<engine::WorkerContext>(*shared, 0);
    update(m);
    learn_neighbours();
}

void Lab::update(const Model& m) {
    model = m;
    const rte_ether_addr macs[] = {kExtMac, kPodsMac};
    std::string err;
    st = engine::build_service_table(m, std::span<const rte_ether_addr>(macs, m.interfaces.size()), err);
    if (!st) ADD_FAILURE() << "build_service_table: " << err;
}

void Lab::learn_neighbours() {
    auto& n = shared->neighbours();
    const uint32_t now_s = static_cast<uint32_t>(now_ns_ / 1'000'000'000);
    n.learn(ip("192.0.2.254"), kRouterMac, kExt, now_s);
    n.learn(ip("192.0.2.77"), kClientMac, kExt, now_s);
    for (const Service& s : model.services)
        for (const ServicePort& p : s.ports)
            for (const Endpoint& e : p.endpoints) n.learn(e.ip, pod_mac(e.ip), kPods, now_s);
    for (const char* pod : {"10.244.9.9", "10.244.9.10"}) n.learn(ip(pod), pod_mac(ip(pod)), kPods, now_s);
}

void Lab::send(uint16_t port, const std::vector<std::vector<uint8_t>>& frames, engine::WorkerContext* on) {
    engine::WorkerContext& w = on != nullptr ? *on : *worker_;
    io.clear();
    std::vector<rte_mbuf*> mbufs;
    for (const auto& f : frames) {
        rte_mbuf* mb = to_mbuf(test_pool(), f);
        if (mb == nullptr) {
            ADD_FAILURE() << "mbuf pool exhausted";
            return;
        }
        mbufs.push_back(mb);
    }
    engine::process_burst(w, *st, io, port, std::span<rte_mbuf*>(mbufs), now_ns_);
    engine::worker_quiescent(w);
}

void Lab::tick() {
    io.clear();
    engine::worker_tick(*worker_, *st, io, now_ns_, test_pool());
}

Out Lab::only_output(uint16_t expect_port) {
    if (io.sent.size() != 1) {
        ADD_FAILURE() << "expected exactly one transmitted frame, got " << io.sent.size() << " (dropped "
                      << io.dropped << ")";
        return Out{};
    }
    EXPECT_EQ(io.sent[0].port, expect_port);
    return parse_out(io.sent[0].m);
}

void Lab::age_all() {
    for (int round = 0; round < 4; ++round) {
        engine::worker_quiescent(*worker_);
        engine::worker_housekeeping(*worker_, now_ns_, shared->flows().capacity());
    }
}

}  // namespace nfgate::test

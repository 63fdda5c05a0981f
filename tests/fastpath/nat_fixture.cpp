#include "tests/fastpath/nat_fixture.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/port/fast_path_runtime.hpp"

namespace nfgate::test {

Model nat_model(unsigned workers, const std::vector<const char*>& endpoints) {
    Model m;
    m.dataplane = DataplaneKind::dpdk;
    m.workers = workers;
    m.node_addresses = {ip("192.0.2.1")};
    m.cluster_cidrs = {{ip("10.244.0.0"), 16}};
    m.service_cidrs = {{ip("10.96.0.0"), 16}};
    m.masquerade.egress = true;
    m.masquerade.non_masquerade_cidrs = {{ip("10.244.0.0"), 16}};
    m.max_flows = 1u << 16;
    Service s;
    s.ns = "default";
    s.name = "web";
    s.cluster_ips = {ip("10.96.0.10")};
    ServicePort http{"http", Proto::tcp, 80, 0, {}};
    ServicePort dns{"dns", Proto::udp, 53, 0, {}};
    for (const char* e : endpoints) {
        http.endpoints.push_back({ip(e), 8080, true});
        dns.endpoints.push_back({ip(e), 5353, true});
    }
    std::sort(http.endpoints.begin(), http.endpoints.end());
    std::sort(dns.endpoints.begin(), dns.endpoints.end());
    s.ports = {http, dns};
    m.services = {s};
    return m;
}

rte_ether_addr host_mac(uint32_t ip) {
    return rte_ether_addr{{0x02, 0x42, uint8_t(ip >> 24), uint8_t(ip >> 16), uint8_t(ip >> 8), uint8_t(ip)}};
}

NatBench::NatBench(const std::string& prefix, unsigned queues) {
    pool_ = rte_pktmbuf_pool_create((prefix + "_inject").c_str(), 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    if (pool_ == nullptr) {
        std::fprintf(stderr, "cannot create the test mbuf pool\n");
        std::abort();
    }
    ports_[kExt] = std::make_unique<RingPort>(prefix + "_ext", queues);
    ports_[kPods] = std::make_unique<RingPort>(prefix + "_pods", queues);
}

NatBench::~NatBench() {
    stop();
    for (auto& p : ports_) p.reset();
    rte_mempool_free(pool_);
}

Model NatBench::with_ports(Model m) const {
    std::vector<IfAddr6> six[2];  // a test's IPv6 addresses stay
    for (size_t i = 0; i < 2 && i < m.interfaces.size(); ++i) six[i] = m.interfaces[i].addresses6;
    m.interfaces = {{"ext", ports_[kExt]->device(), {ip("192.0.2.1"), 24}, six[0]},
                    {"pods", ports_[kPods]->device(), {ip("10.244.0.1"), 16}, six[1]}};
    return m;
}

bool NatBench::start(const Model& model, std::string& err) {
    fp_ = port::start_on_running_eal(with_ports(model), err);
    if (fp_ == nullptr) return false;
    announcements_ = collect(std::chrono::milliseconds(50));
    return true;
}

void NatBench::stop() {
    if (fp_) fp_->stop();
    for (auto& p : ports_)
        if (p) p->discard_all();
}

rte_ether_addr NatBench::gateway_mac(uint16_t iface) const {
    rte_ether_addr mac{};
    rte_eth_macaddr_get(ports_[iface]->port_id(), &mac);
    return mac;
}

void NatBench::inject(uint16_t iface, const std::vector<uint8_t>& frame, unsigned queue) {
    rte_mbuf* m = to_mbuf(pool_, frame);
    if (ports_[iface]->inject(queue, &m, 1) != 1) rte_pktmbuf_free(m);
}

std::vector<NatBench::Sent> NatBench::collect(std::chrono::milliseconds wait) {
    std::vector<Sent> got;
    auto deadline = std::chrono::steady_clock::now() + wait;
    do {
        for (uint16_t i : {kExt, kPods})
            for (rte_mbuf* m : ports_[i]->collect_all()) {
                got.push_back({i, parse_out(m)});
                rte_pktmbuf_free(m);
            }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } while (std::chrono::steady_clock::now() < deadline);
    return got;
}

std::optional<NatBench::Sent> NatBench::wait_one(std::chrono::milliseconds patience) {
    auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
        for (uint16_t i : {kExt, kPods}) {
            auto all = ports_[i]->collect_all();
            if (all.empty()) continue;
            Sent s{i, parse_out(all.front())};
            for (rte_mbuf* x : all) rte_pktmbuf_free(x);
            return s;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return std::nullopt;
}

void NatBench::answer_arp(uint16_t iface, const Out& request, unsigned queue) {
    const rte_ether_addr mac = host_mac(request.arp_tip);
    inject(iface, arp_frame(RTE_ARP_OP_REPLY, mac, request.arp_tip, request.arp_sha, request.arp_sip, request.arp_sha),
           queue);
}

std::optional<NatBench::Sent> NatBench::send(uint16_t iface, Pkt p, unsigned queue) {
    p.eth_dst = gateway_mac(iface);
    // A late answer to an earlier retransmission must not pass for the answer to `p`.
    for (auto& port : ports_)
        for (rte_mbuf* m : port->collect_all()) rte_pktmbuf_free(m);
    for (int attempt = 0; attempt < 6; ++attempt) {
        inject(iface, serialize(p), queue);
        auto got = wait_one(std::chrono::seconds(1));
        // Silence: the gateway dropped `p` while a neighbour was unresolved and its ARP request
        // was held back by the rate limit; send again, as a client retransmits.
        if (!got) continue;
        if (got->out.ether_type != RTE_ETHER_TYPE_ARP || got->out.arp_op != RTE_ARP_OP_REQUEST) return got;
        // The gateway asked for a next hop and dropped `p`: answer like the neighbour would,
        // give the reply time to be learnt, send `p` again.
        answer_arp(got->iface, got->out, queue);
        collect(std::chrono::milliseconds(20));
    }
    return std::nullopt;
}

}  // namespace nfgate::test

#include "model/frontends.hpp"

namespace nfgate {

const char* frontend_kind_name(FrontendKind k) {
    switch (k) {
        case FrontendKind::cluster_ip: return "ClusterIP";
        case FrontendKind::external_ip: return "ExternalIP";
        case FrontendKind::load_balancer_ip: return "LoadBalancerIP";
        case FrontendKind::node_port: return "NodePort";
    }
    return "?";
}

namespace {

std::vector<Frontend> list(const Model& m, bool with_ipv6) {
    std::vector<Frontend> out;
    for (uint32_t s = 0; s < m.services.size(); ++s) {
        const Service& svc = m.services[s];
        for (uint32_t i = 0; i < svc.ports.size(); ++i) {
            const ServicePort& p = svc.ports[i];
            auto add = [&](FrontendKind kind, uint32_t ip, uint16_t port) {
                out.push_back(Frontend{kind, ip, port, p.proto, s, i});
            };
            for (uint32_t ip : svc.cluster_ips) add(FrontendKind::cluster_ip, ip, p.port);
            for (uint32_t ip : svc.external_ips) add(FrontendKind::external_ip, ip, p.port);
            for (uint32_t ip : svc.lb_ips) add(FrontendKind::load_balancer_ip, ip, p.port);
            if (p.node_port != 0)
                for (uint32_t ip : m.node_addresses) add(FrontendKind::node_port, ip, p.node_port);
            if (!with_ipv6) continue;
            auto add6 = [&](FrontendKind kind, const Ip6& ip, uint16_t port) {
                out.push_back(Frontend{kind, 0, port, p.proto, s, i, true, ip});
            };
            for (const Ip6& ip : svc.cluster_ips6) add6(FrontendKind::cluster_ip, ip, p.port);
            for (const Ip6& ip : svc.external_ips6) add6(FrontendKind::external_ip, ip, p.port);
            for (const Ip6& ip : svc.lb_ips6) add6(FrontendKind::load_balancer_ip, ip, p.port);
            if (p.node_port != 0)
                for (const Ip6& ip : m.node_addresses6) add6(FrontendKind::node_port, ip, p.node_port);
        }
    }
    return out;
}

}  // namespace

std::vector<Frontend> frontends(const Model& m) { return list(m, false); }

std::vector<Frontend> all_frontends(const Model& m) { return list(m, true); }

}  // namespace nfgate

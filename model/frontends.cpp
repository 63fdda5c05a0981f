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

std::vector<Frontend> frontends(const Model& m) {
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
        }
    }
    return out;
}

}  // namespace nfgate

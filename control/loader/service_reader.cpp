#include "control/loader/service_reader.hpp"

#include <set>
#include <unordered_map>

#include <algorithm>

namespace nfgate::loader {

namespace {

enum class ServiceType : size_t { cluster_ip, node_port, load_balancer, external_name };

constexpr uint64_t kMaxAffinityTimeout = 86400;  // the API server's limit for timeoutSeconds

std::string in_cidrs(const std::vector<Cidr>& cidrs) {
    std::string s;
    for (const auto& c : cidrs) s += (s.empty() ? "" : ", ") + cidr_to_string(c);
    return s;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

void read_target_port(Reporter& r, YNode n, const FieldPath& f, ServicePortSource& src) {
    src.target_line = n.line();
    if (!n.is_quoted() && all_digits(n.str())) {
        uint64_t v;
        read_uint(r, n, f, 1, 65535, v);
        return;
    }
    if (n.is_scalar() && is_port_name(n.str())) {
        src.target_name = n.str();
        return;
    }
    r.error(n.line(), f,
            (n.is_scalar() ? "\"" + std::string(n.str()) + "\"" : n.describe()) +
                " is not a port (want a number 1-65535 or a port name: 1-15 lowercase letters, digits "
                "and '-', with at least one letter)");
}

void read_node_port(Reporter& r, YNode n, const FieldPath& f, ServiceType type, const Model& gw,
                    ServicePort& port, ServicePortSource& src) {
    src.node_port_line = n.line();
    uint64_t v = 0;
    if (!n.is_null() && !read_uint(r, n, f, 0, 65535, v)) return;
    bool exposes = type == ServiceType::node_port || type == ServiceType::load_balancer;
    if (v == 0) {
        // A LoadBalancer may opt out of nodePorts (allocateLoadBalancerNodePorts: false).
        if (type == ServiceType::node_port)
            r.error(src.line, f,
                    "missing (a NodePort Service needs one; want a port in " + std::to_string(gw.node_port_min) +
                        "-" + std::to_string(gw.node_port_max) + ")");
        return;
    }
    if (!exposes) {
        r.error(n.line(), f, "set on a ClusterIP Service (want type NodePort or LoadBalancer, or no nodePort)");
        return;
    }
    if (v < gw.node_port_min || v > gw.node_port_max) {
        r.error(n.line(), f,
                std::to_string(v) + " is outside nodePortRange " + std::to_string(gw.node_port_min) + "-" +
                    std::to_string(gw.node_port_max) + " (want a port in that range, or widen nodePortRange)");
        return;
    }
    port.node_port = static_cast<uint16_t>(v);
}

void read_ports(Reporter& r, YNode spec, ServiceType type, const Model& gw, ServiceSource& out) {
    FieldPath ports_path{nullptr, "spec.ports", -1};
    YNode ports = spec.get("ports");
    if (!for_each_item(r, ports, ports_path, [&](YNode item, const FieldPath& p) {
            ServicePort port;
            ServicePortSource src;
            src.line = item.line();
            if (!expect_map(r, item, p)) {
                if (item.is_null()) r.error(item.line(), p, "want a mapping with port, protocol, targetPort");
                return;
            }
            read_string(r, item.get("name"), p.child("name"), port.name);
            read_protocol(r, item.get("protocol"), p.child("protocol"), port.proto);
            uint64_t v = 0;
            FieldPath port_path = p.child("port");
            if (require(r, item.get("port"), item.line(), port_path, "a port number 1-65535") &&
                read_uint(r, item.get("port"), port_path, 1, 65535, v))
                port.port = static_cast<uint16_t>(v);
            YNode target = item.get("targetPort");
            if (!target.is_null()) read_target_port(r, target, p.child("targetPort"), src);
            read_node_port(r, item.get("nodePort"), p.child("nodePort"), type, gw, port, src);
            out.svc.ports.push_back(std::move(port));
            out.ports.push_back(std::move(src));
        }))
        return;
    if (out.svc.ports.empty()) {
        r.error(ports.present() ? ports.line() : spec.line(), ports_path, "missing (want at least one port)");
        return;
    }
    // First index of each name and each port/protocol: one pass, however many ports.
    std::unordered_map<std::string_view, size_t> first_name;
    std::unordered_map<uint32_t, size_t> first_port;
    for (size_t i = 0; i < out.svc.ports.size(); ++i) {
        const auto& a = out.svc.ports[i];
        FieldPath pi = ports_path.at(i);
        if (out.svc.ports.size() > 1 && a.name.empty())
            r.error(out.ports[i].line, pi.child("name"), "missing (a Service with several ports must name each one)");
        if (!a.name.empty()) {
            const auto [it, fresh] = first_name.emplace(a.name, i);
            if (!fresh)
                r.error(out.ports[i].line, pi.child("name"),
                        "\"" + a.name + "\" is also the name of spec.ports[" + std::to_string(it->second) +
                            "] (want unique names)");
        }
        if (a.port != 0) {
            const auto [it, fresh] = first_port.emplace(uint32_t{a.port} << 8 | static_cast<uint8_t>(a.proto), i);
            if (!fresh)
                r.error(out.ports[i].line, pi.child("port"),
                        std::to_string(a.port) + "/" + protocol_api_name(a.proto) + " is also spec.ports[" +
                            std::to_string(it->second) + "] (want each port/protocol once)");
        }
    }
}

std::string in_cidrs(const std::vector<Cidr6>& cidrs) {
    std::string s;
    for (const auto& c : cidrs) s += (s.empty() ? "" : ", ") + cidr6_to_string(c);
    return s;
}

std::string addr_text(uint32_t ip) { return ip_to_string(ip); }
std::string addr_text(const Ip6& ip) { return ip6_to_string(ip); }

// A ClusterIP must lie in one of the serviceCIDRs of its family (when any are declared).
template <typename C, typename A>
bool in_service_cidrs(Reporter& r, YNode n, const FieldPath& f, const std::vector<C>& cidrs, const A& ip) {
    if (cidrs.empty() || std::any_of(cidrs.begin(), cidrs.end(), [&](const C& c) { return c.contains(ip); })) return true;
    r.error(n.line(), f, addr_text(ip) + " is outside serviceCIDRs (want an address in " + in_cidrs(cidrs) + ")");
    return false;
}

// spec.ipFamilies (as the API server filled it: one or two of IPv4/IPv6) and
// spec.ipFamilyPolicy: checked against clusterIPs, which they describe.
void check_ip_families(Reporter& r, YNode spec, YNode multi) {
    FieldPath fam_path{nullptr, "spec.ipFamilies", -1};
    std::vector<size_t> families;
    for_each_item(r, spec.get("ipFamilies"), fam_path, [&](YNode item, const FieldPath& p) {
        size_t fam = 0;
        if (!read_enum(r, item, p, {"IPv4", "IPv6"}, fam)) return;
        if (std::find(families.begin(), families.end(), fam) != families.end())
            r.error(item.line(), p, std::string(item.str()) + " is listed twice (want each family once)");
        families.push_back(fam);
    });
    size_t policy = 0;
    FieldPath policy_path{nullptr, "spec.ipFamilyPolicy", -1};
    bool has_policy = read_enum(r, spec.get("ipFamilyPolicy"), policy_path,
                                {"SingleStack", "PreferDualStack", "RequireDualStack"}, policy);
    if (has_policy && policy == 0 && families.size() > 1)
        r.error(spec.get("ipFamilyPolicy").line(), policy_path,
                "SingleStack with two ipFamilies (want PreferDualStack or RequireDualStack)");
    if (!multi.is_seq()) return;
    FieldPath multi_path{nullptr, "spec.clusterIPs", -1};
    for (size_t i = 0; i < multi.size() && i < families.size(); ++i) {
        bool six = looks_like_ipv6(multi.item(i).str());
        if (six != (families[i] == 1))
            r.error(multi.item(i).line(), multi_path.at(i),
                    "\"" + std::string(multi.item(i).str()) + "\" is not of ipFamilies[" + std::to_string(i) +
                        "] " + (families[i] == 1 ? "IPv6" : "IPv4") + " (want clusterIPs in ipFamilies' order)");
    }
}

// Keeps the ClusterIPs of both families (IPv6 only when the gateway has an IPv6 address);
// returns false (with a notice or error) when the Service is skipped.
bool read_cluster_ips(Reporter& r, YNode spec, const Model& gw, ServiceSource& out) {
    YNode single = spec.get("clusterIP");
    YNode multi = spec.get("clusterIPs");
    if (single.str() == "None" || (multi.is_seq() && multi.size() > 0 && multi.item(0).str() == "None")) {
        r.notice(spec.line(), "skipped: headless Service (clusterIP None) has no virtual IP to forward");
        return false;
    }
    check_ip_families(r, spec, multi);
    FieldPath single_path{nullptr, "spec.clusterIP", -1};
    FieldPath multi_path{nullptr, "spec.clusterIPs", -1};
    const bool serve6 = gw.has_ipv6();
    bool ipv6_left_out = false;
    auto take = [&](YNode n, const FieldPath& f) {
        std::vector<uint32_t> v4;
        std::vector<Ip6> v6;
        if (!read_ip_any(r, n, f, v4, v6)) return;
        for (uint32_t ip : v4)
            if (in_service_cidrs(r, n, f, gw.service_cidrs, ip)) out.svc.cluster_ips.push_back(ip);
        for (const Ip6& ip : v6) {
            if (!serve6) {
                ipv6_left_out = true;
                r.notice(n.line(), "IPv6 clusterIP " + ip6_to_string(ip) +
                                       " left out: the gateway has no IPv6 address (nodeAddresses or interfaces)");
                return;
            }
            if (in_service_cidrs(r, n, f, gw.service_cidrs6, ip)) out.svc.cluster_ips6.push_back(ip);
        }
    };
    if (multi.is_seq() && multi.size() > 0) {
        if (single.is_scalar() && !single.is_null() && single.str() != multi.item(0).str())
            r.error(multi.item(0).line(), multi_path.at(0),
                    "\"" + std::string(multi.item(0).str()) + "\" differs from spec.clusterIP \"" +
                        std::string(single.str()) + "\" (want clusterIPs[0] equal to clusterIP)");
        for_each_item(r, multi, multi_path, take);
    } else if (!multi.is_null() && !multi.is_seq()) {
        expect_list(r, multi, multi_path);
    } else if (!single.is_null()) {
        take(single, single_path);
    } else {
        r.error(spec.line(), single_path,
                "missing (nfgate does not allocate ClusterIPs: want an address from serviceCIDRs, "
                "as `kubectl get services -o yaml` shows it)");
        return false;
    }
    if (out.svc.cluster_ips.empty() && out.svc.cluster_ips6.empty() && ipv6_left_out) {
        r.notice(spec.line(), "skipped: IPv6-only Service and the gateway has no IPv6 address");
        return false;
    }
    return true;
}

// Addresses of either family; IPv6 ones only when the gateway has an IPv6 address.
void read_ip_list(Reporter& r, YNode n, const FieldPath& f, std::string_view what, const Model& gw,
                  std::vector<uint32_t>& v4, std::vector<Ip6>& v6) {
    const bool serve6 = gw.has_ipv6();
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        size_t before = v6.size();
        if (!read_ip_any(r, item, p, v4, v6) || serve6 || v6.size() == before) return;
        v6.pop_back();
        r.notice(item.line(), "IPv6 " + std::string(what) + " " + std::string(item.str()) +
                                  " left out: the gateway has no IPv6 address");
    });
}

void read_lb_ingress(Reporter& r, YNode status, const Model& gw, ServiceSource& out) {
    YNode lb = status.get("loadBalancer");
    FieldPath ingress{nullptr, "status.loadBalancer.ingress", -1};
    for_each_item(r, lb.get("ingress"), ingress, [&](YNode item, const FieldPath& p) {
        YNode ip = item.get("ip");
        if (ip.is_null()) return;  // hostname-only ingress: nothing to forward
        // ipMode Proxy (KEP-1860): the load balancer proxies to the nodes itself and owns the IP.
        // kube-proxy leaves such an address alone, so nfgate neither DNATs it nor claims it.
        size_t mode = 0;
        if (!read_enum(r, item.get("ipMode"), p.child("ipMode"), {"VIP", "Proxy"}, mode)) mode = 0;
        if (mode == 1) {
            r.notice(item.get("ipMode").line(), p.child("ipMode").str() + ": Proxy: " + std::string(ip.str()) +
                                                    " belongs to the load balancer's proxy, not served");
            return;
        }
        const bool serve6 = gw.has_ipv6();
        size_t before = out.svc.lb_ips6.size();
        if (!read_ip_any(r, ip, p.child("ip"), out.svc.lb_ips, out.svc.lb_ips6) || serve6 ||
            out.svc.lb_ips6.size() == before)
            return;
        out.svc.lb_ips6.pop_back();
        r.notice(ip.line(), "IPv6 load-balancer ingress " + std::string(ip.str()) +
                                " left out: the gateway has no IPv6 address");
    });
}

void read_affinity(Reporter& r, YNode spec, Service& svc) {
    size_t which = 0;
    if (read_enum(r, spec.get("sessionAffinity"), FieldPath{nullptr, "spec.sessionAffinity", -1},
                  {"None", "ClientIP"}, which))
        svc.affinity_client_ip = which == 1;
    YNode timeout = spec.get("sessionAffinityConfig").get("clientIP").get("timeoutSeconds");
    uint64_t v;
    // Checked either way; kept only with ClientIP affinity, where it means something (kube-proxy
    // reads it only then), so one Service has one Model however its manifest was written.
    if (read_uint(r, timeout, FieldPath{nullptr, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", -1}, 1,
                  kMaxAffinityTimeout, v) &&
        svc.affinity_client_ip)
        svc.affinity_timeout_s = static_cast<uint32_t>(v);
}

void read_source_ranges(Reporter& r, YNode spec, Service& svc) {
    FieldPath f{nullptr, "spec.loadBalancerSourceRanges", -1};
    for_each_item(r, spec.get("loadBalancerSourceRanges"), f, [&](YNode item, const FieldPath& p) {
        // The API server accepts host bits here (net.ParseCIDR); they mean the enclosing network.
        IfAddr a;
        IfAddr6 a6;
        if (item.is_scalar() && parse_ifaddr(item.str(), a)) {
            svc.lb_source_ranges.push_back(a.subnet());
            return;
        }
        if (item.is_scalar() && parse_ifaddr6(item.str(), a6)) {
            svc.lb_source_ranges6.push_back(a6.subnet());
            return;
        }
        std::vector<Cidr> v4;
        std::vector<Cidr6> v6;
        read_cidr_any(r, item, p, v4, v6);
    });
}

// One address listed twice (an externalIP that is also the load balancer's ingress IP, say)
// is one VIP: the data paths get each address once, in the first list that names it.
template <typename Addr>
void drop_repeated(std::initializer_list<std::vector<Addr>*> lists) {
    std::set<Addr> seen;
    for (auto* list : lists) {
        std::vector<Addr> kept;
        for (const Addr& ip : *list)
            if (seen.insert(ip).second) kept.push_back(ip);
        *list = std::move(kept);
    }
}

void drop_repeated_addresses(Service& svc) {
    drop_repeated<uint32_t>({&svc.cluster_ips, &svc.external_ips, &svc.lb_ips});
    drop_repeated<Ip6>({&svc.cluster_ips6, &svc.external_ips6, &svc.lb_ips6});
}

}  // namespace

bool is_port_name(std::string_view s) {
    if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-') return false;
    bool letter = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool lower = c >= 'a' && c <= 'z';
        letter = letter || lower;
        if (!lower && !(c >= '0' && c <= '9') && c != '-') return false;
        if (c == '-' && i > 0 && s[i - 1] == '-') return false;
    }
    return letter;
}

bool read_protocol(Reporter& r, YNode n, const FieldPath& f, Proto& out) {
    size_t which = 0;
    if (!read_enum(r, n, f, {"TCP", "UDP", "SCTP"}, which)) return false;
    out = which == 0 ? Proto::tcp : which == 1 ? Proto::udp : Proto::sctp;
    return true;
}

const char* protocol_api_name(Proto p) {
    switch (p) {
        case Proto::tcp: return "TCP";
        case Proto::udp: return "UDP";
        case Proto::sctp: return "SCTP";
    }
    return "?";
}

void read_service(Reporter& r, YNode obj, const Model& gw, std::vector<ServiceSource>& out) {
    size_t errors_before = r.error_count();
    ServiceSource src;
    src.file = r.file();
    src.line = obj.line();
    YNode meta = obj.get("metadata");
    src.svc.name = meta.get("name").str();
    src.svc.ns = meta.get("namespace").is_null() ? "default" : std::string(meta.get("namespace").str());
    FieldPath name_path{nullptr, "metadata.name", -1};
    if (require(r, meta.get("name"), obj.line(), name_path, "the Service name")) read_string(r, meta.get("name"), name_path, src.svc.name);

    YNode spec = obj.get("spec");
    FieldPath spec_path{nullptr, "spec", -1};
    if (!expect_map(r, spec, spec_path)) {
        if (spec.is_null()) r.error(obj.line(), spec_path, "missing (want the Service spec)");
        return;
    }
    size_t type_index = 0;
    read_enum(r, spec.get("type"), FieldPath{nullptr, "spec.type", -1},
              {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}, type_index);
    auto type = static_cast<ServiceType>(type_index);
    if (type == ServiceType::external_name) {
        r.notice(spec.line(), "skipped: ExternalName Service is a DNS alias, nothing to forward");
        return;
    }
    if (!read_cluster_ips(r, spec, gw, src)) return;
    read_ports(r, spec, type, gw, src);
    read_ip_list(r, spec.get("externalIPs"), FieldPath{nullptr, "spec.externalIPs", -1}, "externalIP",
                 gw, src.svc.external_ips, src.svc.external_ips6);
    read_lb_ingress(r, obj.get("status"), gw, src);
    read_affinity(r, spec, src.svc);
    size_t policy = 0;
    if (read_enum(r, spec.get("externalTrafficPolicy"), FieldPath{nullptr, "spec.externalTrafficPolicy", -1},
                  {"Cluster", "Local"}, policy))
        src.svc.external_traffic_policy = policy == 0 ? TrafficPolicy::cluster : TrafficPolicy::local;
    read_source_ranges(r, spec, src.svc);
    drop_repeated_addresses(src.svc);
    if (r.error_count() == errors_before) out.push_back(std::move(src));
}

}  // namespace nfgate::loader

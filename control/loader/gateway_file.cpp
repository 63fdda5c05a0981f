#include "control/loader/gateway_file.hpp"

#include <charconv>

#include "control/loader/bgp_section.hpp"
#include "control/loader/kubernetes_section.hpp"

namespace nfgate::loader {

namespace {

constexpr uint64_t kMaxWorkers = 127;  // DPDK's default RTE_MAX_LCORE is 128, one is the main lcore
constexpr uint64_t kMaxFlows = 1u << 30;

void read_cidr_list(Reporter& r, YNode n, const FieldPath& f, std::vector<Cidr>& out) {
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        Cidr c;
        if (read_cidr(r, item, p, c)) out.push_back(c);
    });
}

void read_dataplane(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    size_t which = 0;
    if (read_enum(r, n, f, {"kernel", "dpdk"}, which))
        m.dataplane = which == 0 ? DataplaneKind::kernel : DataplaneKind::dpdk;
}

void read_eal(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        std::string arg;
        if (read_string(r, item, p, arg)) m.eal_args.push_back(std::move(arg));
    });
}

void read_node_addresses(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        uint32_t ip;
        if (read_ipv4(r, item, p, ip)) m.node_addresses.push_back(ip);
    });
}

void read_masquerade(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    if (!expect_map(r, n, f)) return;
    reject_unknown_keys(r, n, f, {"egress", "nonMasqueradeCIDRs", "all"});
    read_bool(r, n.get("egress"), f.child("egress"), m.masquerade.egress);
    read_cidr_list(r, n.get("nonMasqueradeCIDRs"), f.child("nonMasqueradeCIDRs"),
                   m.masquerade.non_masquerade_cidrs);
    read_bool(r, n.get("all"), f.child("all"), m.masquerade.all);
}

void read_interfaces(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        if (!expect_map(r, item, p)) {
            if (item.is_null()) r.error(item.line(), p, "want a mapping with name, device, address");
            return;
        }
        reject_unknown_keys(r, item, p, {"name", "device", "address"});
        Interface ifc;
        FieldPath name_path = p.child("name");
        if (require(r, item.get("name"), item.line(), name_path, "a name such as ext") &&
            read_string(r, item.get("name"), name_path, ifc.name)) {
            for (const auto& other : m.interfaces)
                if (other.name == ifc.name)
                    r.error(item.get("name").line(), name_path,
                            "interface name \"" + ifc.name + "\" is used twice (want unique names)");
        }
        read_string(r, item.get("device"), p.child("device"), ifc.device);
        FieldPath addr_path = p.child("address");
        if (require(r, item.get("address"), item.line(), addr_path, "a.b.c.d/len, e.g. 192.0.2.1/24"))
            read_ifaddr(r, item.get("address"), addr_path, ifc.address);
        m.interfaces.push_back(std::move(ifc));
    });
}

// "host:port" where host is an IPv4 address (0.0.0.0 for every address) or localhost.
bool valid_listen_address(std::string_view s) {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || end != port.data() + port.size() || v < 1 || v > 65535) return false;
    uint32_t ip;
    return host == "localhost" || parse_ipv4(host, ip);
}

void read_control(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    if (!expect_map(r, n, f)) return;
    reject_unknown_keys(r, n, f, {"socket", "metricsAddress"});
    FieldPath sock = f.child("socket");
    if (read_string(r, n.get("socket"), sock, m.control.socket) && n.get("socket").present() &&
        (m.control.socket.empty() || m.control.socket.front() != '/'))
        r.error(n.get("socket").line(), sock, "\"" + m.control.socket + "\" is not an absolute path (want e.g. /run/nfgate/nfgate.sock)");
    FieldPath metrics = f.child("metricsAddress");
    if (read_string(r, n.get("metricsAddress"), metrics, m.control.metrics_address) &&
        !m.control.metrics_address.empty() && !valid_listen_address(m.control.metrics_address))
        r.error(n.get("metricsAddress").line(), metrics,
                "\"" + m.control.metrics_address + "\" is not host:port (want e.g. 127.0.0.1:9617 or 0.0.0.0:9617; empty: off)");
}

// The zone the gateway stands in (a node's topology.kubernetes.io/zone label): endpoints the
// EndpointSlice controller hinted for it are preferred. Any label value is a valid zone.
void read_zone(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    if (!read_string(r, n, f, m.zone) || m.zone.empty()) return;
    if (m.zone.size() > 63)
        r.error(n.line(), f, "\"" + m.zone + "\" is longer than 63 characters (want a topology.kubernetes.io/zone label value)");
}

void read_routes(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        if (!expect_map(r, item, p)) {
            if (item.is_null()) r.error(item.line(), p, "want a mapping with to, via");
            return;
        }
        reject_unknown_keys(r, item, p, {"to", "via"});
        Route route;
        FieldPath to_path = p.child("to");
        if (require(r, item.get("to"), item.line(), to_path, "a destination CIDR such as 0.0.0.0/0"))
            read_cidr(r, item.get("to"), to_path, route.to);
        read_ipv4(r, item.get("via"), p.child("via"), route.via);
        m.routes.push_back(route);
    });
}

void read_conntrack(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    if (!expect_map(r, n, f)) return;
    reject_unknown_keys(r, n, f, {"maxFlows", "synProxy", "synProxyHalfOpen", "newFlowsPerSource", "newFlowsPerSourceBurst"});
    uint64_t v;
    if (read_uint(r, n.get("maxFlows"), f.child("maxFlows"), 1, kMaxFlows, v)) m.max_flows = static_cast<uint32_t>(v);
    size_t mode = 0;
    if (read_enum(r, n.get("synProxy"), f.child("synProxy"), {"auto", "on", "off"}, mode))
        m.syn_proxy = mode == 0 ? SynProxyMode::automatic : mode == 1 ? SynProxyMode::on : SynProxyMode::off;
    if (read_uint(r, n.get("synProxyHalfOpen"), f.child("synProxyHalfOpen"), 1, kMaxFlows, v))
        m.syn_proxy_half_open = static_cast<uint32_t>(v);
    if (read_uint(r, n.get("newFlowsPerSource"), f.child("newFlowsPerSource"), 0, 10'000'000, v))
        m.new_flows_per_source = static_cast<uint32_t>(v);
    if (read_uint(r, n.get("newFlowsPerSourceBurst"), f.child("newFlowsPerSourceBurst"), 1, 10'000'000, v))
        m.new_flows_per_source_burst = static_cast<uint32_t>(v);
}

void read_node_port_range(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    std::string text;
    if (!read_string(r, n, f, text)) return;
    auto dash = text.find('-');
    unsigned lo = 0, hi = 0;
    bool ok = dash != std::string::npos;
    if (ok) {
        auto [e1, ec1] = std::from_chars(text.data(), text.data() + dash, lo);
        auto [e2, ec2] = std::from_chars(text.data() + dash + 1, text.data() + text.size(), hi);
        ok = ec1 == std::errc{} && e1 == text.data() + dash && ec2 == std::errc{} &&
             e2 == text.data() + text.size() && lo >= 1 && lo <= hi && hi <= 65535;
    }
    if (!ok) {
        r.error(n.line(), f, "\"" + text + "\" is not a port range (want FIRST-LAST within 1-65535, e.g. 30000-32767)");
        return;
    }
    m.node_port_min = static_cast<uint16_t>(lo);
    m.node_port_max = static_cast<uint16_t>(hi);
}

void read_manifests(Reporter& r, YNode n, const FieldPath& f, std::vector<ManifestRef>& out) {
    if (n.is_scalar() && !n.is_null()) {
        out.push_back(ManifestRef{std::string(n.str()), n.line(), 0});
        return;
    }
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        std::string path;
        if (read_string(r, item, p, path)) out.push_back(ManifestRef{path, item.line(), p.index});
    });
}

// dpdk owns the ports: it needs to know which ones, and where its next hops live.
void check_dpdk_sections(Reporter& r, YNode root, const Model& m) {
    YNode ifs = root.get("interfaces");
    if (m.interfaces.empty()) {
        r.set_object("interfaces");
        r.error(ifs.present() ? ifs.line() : 1, "interfaces",
                "dataplane dpdk needs at least one interface (want a list of {name, device, address})");
        return;
    }
    for (size_t i = 0; i < m.interfaces.size(); ++i) {
        if (!m.interfaces[i].device.empty() || !ifs.is_seq() || i >= ifs.size()) continue;
        r.set_object("interfaces");
        r.error(ifs.item(i).line(), "interfaces[" + std::to_string(i) + "].device",
                "missing (dataplane dpdk needs DPDK devargs, e.g. \"net_tap0,iface=nfg-ext\")");
    }
    YNode routes = root.get("routes");
    for (size_t i = 0; i < m.routes.size(); ++i) {
        uint32_t via = m.routes[i].via;
        if (via == 0) continue;
        bool connected = false;
        std::string subnets;
        for (const auto& ifc : m.interfaces) {
            connected = connected || ifc.address.subnet().contains(via);
            subnets += (subnets.empty() ? "" : ", ") + ifc.name + " " + cidr_to_string(ifc.address.subnet());
        }
        if (connected) continue;
        r.set_object("routes");
        int line = routes.is_seq() && i < routes.size() ? routes.item(i).line() : 0;
        r.error(line, "routes[" + std::to_string(i) + "].via",
                ip_to_string(via) + " is not inside any interface subnet (want a next hop in: " + subnets + ")");
    }
}

}  // namespace

void read_gateway_file(Reporter& r, YNode root, const std::optional<DataplaneKind>& dataplane_override,
                       Model& m, std::vector<ManifestRef>& manifests) {
    r.set_object("gateway");
    if (!root.is_map()) {
        r.error(root.line(), "", "the gateway file must be a mapping (key: value), got " + root.describe());
        return;
    }
    reject_unknown_keys(r, root, FieldPath{}, {"dataplane", "eal", "workers", "nodeAddresses", "clusterCIDRs",
                                               "serviceCIDRs", "masquerade", "interfaces", "routes",
                                               "conntrack", "nodePortRange", "manifests", "control", "bgp",
                                               "exceptionPath", "zone", "kubernetes"});
    auto section = [&](std::string_view key, auto&& reader) {
        YNode n = root.get(key);
        if (!n.present()) return;
        r.set_object(std::string(key));
        FieldPath f{nullptr, key, -1};
        reader(n, f);
    };
    section("dataplane", [&](YNode n, const FieldPath& f) { read_dataplane(r, n, f, m); });
    section("eal", [&](YNode n, const FieldPath& f) { read_eal(r, n, f, m); });
    section("workers", [&](YNode n, const FieldPath& f) {
        uint64_t v;
        if (read_uint(r, n, f, 1, kMaxWorkers, v)) m.workers = static_cast<unsigned>(v);
    });
    section("nodeAddresses", [&](YNode n, const FieldPath& f) { read_node_addresses(r, n, f, m); });
    section("clusterCIDRs", [&](YNode n, const FieldPath& f) { read_cidr_list(r, n, f, m.cluster_cidrs); });
    section("serviceCIDRs", [&](YNode n, const FieldPath& f) { read_cidr_list(r, n, f, m.service_cidrs); });
    section("masquerade", [&](YNode n, const FieldPath& f) { read_masquerade(r, n, f, m); });
    section("interfaces", [&](YNode n, const FieldPath& f) { read_interfaces(r, n, f, m); });
    section("routes", [&](YNode n, const FieldPath& f) { read_routes(r, n, f, m); });
    section("conntrack", [&](YNode n, const FieldPath& f) { read_conntrack(r, n, f, m); });
    section("nodePortRange", [&](YNode n, const FieldPath& f) { read_node_port_range(r, n, f, m); });
    section("manifests", [&](YNode n, const FieldPath& f) { read_manifests(r, n, f, manifests); });
    section("control", [&](YNode n, const FieldPath& f) { read_control(r, n, f, m); });
    section("bgp", [&](YNode n, const FieldPath& f) { read_bgp(r, n, f, m); });
    m.exception_path = true;
    section("exceptionPath", [&](YNode n, const FieldPath& f) { read_bool(r, n, f, m.exception_path); });
    section("zone", [&](YNode n, const FieldPath& f) { read_zone(r, n, f, m); });
    section("kubernetes", [&](YNode n, const FieldPath& f) { read_kubernetes(r, n, f, m); });

    if (dataplane_override) m.dataplane = *dataplane_override;
    if (m.dataplane == DataplaneKind::dpdk) check_dpdk_sections(r, root, m);
}

}  // namespace nfgate::loader

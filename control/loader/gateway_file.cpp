#include "control/loader/gateway_file.hpp"

#include <charconv>

#include "control/loader/bgp_section.hpp"
#include "control/loader/kubernetes_section.hpp"

namespace nfgate::loader {

namespace {

constexpr uint64_t kMaxWorkers = 127;  // DPDK's default RTE_MAX_LCORE is 128, one is the main lcore
constexpr uint64_t kMaxFlows = 1u << 30;

void read_cidr_list(Reporter& r, YNode n, const FieldPath& f, std::vector<Cidr>& v4, std::vector<Cidr6>& v6) {
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) { read_cidr_any(r, item, p, v4, v6); });
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
        read_ip_any(r, item, p, m.node_addresses, m.node_addresses6);
    });
}

void read_masquerade(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    if (!expect_map(r, n, f)) return;
    reject_unknown_keys(r, n, f, {"egress", "nonMasqueradeCIDRs", "all"});
    read_bool(r, n.get("egress"), f.child("egress"), m.masquerade.egress);
    read_cidr_list(r, n.get("nonMasqueradeCIDRs"), f.child("nonMasqueradeCIDRs"),
                   m.masquerade.non_masquerade_cidrs, m.masquerade.non_masquerade_cidrs6);
    read_bool(r, n.get("all"), f.child("all"), m.masquerade.all);
}

// `address` (one, either family) and/or `addresses` (a list): at most one IPv4 address, which
// the fast path answers ARP for and masquerades to; any number of IPv6 ones.
void read_interface_addresses(Reporter& r, YNode item, const FieldPath& p, Interface& ifc) {
    std::vector<IfAddr> v4;
    YNode single = item.get("address"), list = item.get("addresses");
    FieldPath single_path = p.child("address"), list_path = p.child("addresses");
    if (single.is_null() && (list.is_null() || (list.is_seq() && list.size() == 0))) {
        r.error(item.line(), single_path, "missing (want address: a.b.c.d/len, or addresses: [192.0.2.1/24, \"2001:db8:1::1/64\"])");
        return;
    }
    if (!single.is_null()) read_ifaddr_any(r, single, single_path, v4, ifc.addresses6);
    for_each_item(r, list, list_path, [&](YNode a, const FieldPath& ap) {
        size_t before = v4.size();
        if (read_ifaddr_any(r, a, ap, v4, ifc.addresses6) && v4.size() > 1 && before == 1)
            r.error(a.line(), ap, "a second IPv4 address (an interface has at most one IPv4 address; " +
                                      std::string(a.str()) + " and " + ip_to_string(v4[0].addr) + "/" +
                                      std::to_string(v4[0].len) + ")");
    });
    if (!v4.empty()) ifc.address = v4[0];
    for (size_t i = 0; i < ifc.addresses6.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (ifc.addresses6[i].addr == ifc.addresses6[j].addr)
                r.error(item.line(), list_path, ip6_to_string(ifc.addresses6[i].addr) + " is listed twice");
}

void read_interfaces(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        if (!expect_map(r, item, p)) {
            if (item.is_null()) r.error(item.line(), p, "want a mapping with name, device, address");
            return;
        }
        reject_unknown_keys(r, item, p, {"name", "device", "address", "addresses", "ipv6MTU"});
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
        read_interface_addresses(r, item, p, ifc);
        uint64_t mtu = 0;
        // RFC 8200 5: every IPv6 link carries at least 1280-byte packets.
        if (read_uint(r, item.get("ipv6MTU"), p.child("ipv6MTU"), 1280, 65535, mtu)) ifc.ipv6_mtu = static_cast<uint16_t>(mtu);
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
        std::vector<Cidr> to4;
        std::vector<Cidr6> to6;
        std::vector<uint32_t> via4;
        std::vector<Ip6> via6;
        FieldPath to_path = p.child("to"), via_path = p.child("via");
        if (!require(r, item.get("to"), item.line(), to_path, "a destination CIDR such as 0.0.0.0/0 or ::/0") ||
            !read_cidr_any(r, item.get("to"), to_path, to4, to6))
            return;
        read_ip_any(r, item.get("via"), via_path, via4, via6);
        if ((!to4.empty() && !via6.empty()) || (!to6.empty() && !via4.empty())) {
            r.error(item.get("via").line(), via_path,
                    "\"" + std::string(item.get("via").str()) + "\" is not of the family of to \"" +
                        std::string(item.get("to").str()) + "\" (want a next hop of the same family)");
            return;
        }
        if (!to4.empty()) m.routes.push_back(Route{to4[0], via4.empty() ? 0 : via4[0]});
        else m.routes6.push_back(Route6{to6[0], via6.empty() ? Ip6{} : via6[0]});
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
    // Each next hop must be on an interface's subnet of its family. Routes are listed in the
    // file's order, each family in its own list: walk the file's items to name the right one.
    YNode routes = root.get("routes");
    if (!routes.is_seq() || routes.size() != m.routes.size() + m.routes6.size()) return;
    size_t i4 = 0, i6 = 0;
    for (size_t i = 0; i < routes.size(); ++i) {
        bool six = looks_like_ipv6(routes.item(i).get("to").str());
        bool connected = false;
        std::string subnets, via;
        if (!six) {
            uint32_t hop = m.routes[i4++].via;
            if (hop == 0) continue;
            via = ip_to_string(hop);
            for (const auto& ifc : m.interfaces) {
                if (ifc.address.addr == 0) continue;
                connected = connected || ifc.address.subnet().contains(hop);
                subnets += (subnets.empty() ? "" : ", ") + ifc.name + " " + cidr_to_string(ifc.address.subnet());
            }
        } else {
            const Ip6& hop = m.routes6[i6++].via;
            if (hop.is_zero()) continue;
            via = ip6_to_string(hop);
            for (const auto& ifc : m.interfaces)
                for (const auto& a : ifc.addresses6) {
                    connected = connected || a.subnet().contains(hop);
                    subnets += (subnets.empty() ? "" : ", ") + ifc.name + " " + cidr6_to_string(a.subnet());
                }
        }
        if (connected) continue;
        r.set_object("routes");
        r.error(routes.item(i).line(), "routes[" + std::to_string(i) + "].via",
                via + " is not inside any interface subnet (want a next hop in: " + subnets + ")");
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
    section("clusterCIDRs", [&](YNode n, const FieldPath& f) { read_cidr_list(r, n, f, m.cluster_cidrs, m.cluster_cidrs6); });
    section("serviceCIDRs", [&](YNode n, const FieldPath& f) { read_cidr_list(r, n, f, m.service_cidrs, m.service_cidrs6); });
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

#include "control/loader/slice_reader.hpp"

#include "control/loader/service_reader.hpp"

namespace nfgate::loader {

namespace {

constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

void read_slice_ports(Reporter& r, YNode ports, SliceSource& out) {
    FieldPath ports_path{nullptr, "ports", -1};
    for_each_item(r, ports, ports_path, [&](YNode item, const FieldPath& p) {
        if (!expect_map(r, item, p)) return;
        SlicePort port;
        read_string(r, item.get("name"), p.child("name"), port.name);
        read_protocol(r, item.get("protocol"), p.child("protocol"), port.proto);
        uint64_t v = 0;
        // A port without a number means "all ports" in the API; a VIP needs one number to map to,
        // so kube-proxy ignores such ports and so does nfgate.
        FieldPath num = p.child("port");
        if (item.get("port").is_null()) {
            r.notice(item.line(), num.str() + ": no port number, ignored");
            return;
        }
        if (read_uint(r, item.get("port"), num, 1, 65535, v)) {
            port.port = static_cast<uint16_t>(v);
            out.ports.push_back(std::move(port));
        }
    });
}

// conditions as the API documents them: ready absent means ready; serving absent means what
// ready says; terminating absent means not terminating.
template <typename Addr>
void read_conditions(Reporter& r, YNode conditions, const FieldPath& cond_path, BasicEndpoint<Addr>& ep) {
    ep.serving = ep.ready;  // also when there are no conditions at all
    if (!expect_map(r, conditions, cond_path)) return;
    read_bool(r, conditions.get("ready"), cond_path.child("ready"), ep.ready);
    ep.serving = ep.ready;
    read_bool(r, conditions.get("serving"), cond_path.child("serving"), ep.serving);
    read_bool(r, conditions.get("terminating"), cond_path.child("terminating"), ep.terminating);
}

// hints.forZones[].name, seen from the gateway's zone (none when the gateway has no zone).
template <typename Addr>
void read_zone_hint(Reporter& r, YNode hints, const FieldPath& hints_path, const std::string& zone,
                    BasicEndpoint<Addr>& ep) {
    if (!expect_map(r, hints, hints_path)) return;
    bool hinted = false, here = false;
    FieldPath zones_path = hints_path.child("forZones");
    for_each_item(r, hints.get("forZones"), zones_path, [&](YNode item, const FieldPath& p) {
        if (!expect_map(r, item, p)) return;
        std::string name;
        FieldPath name_path = p.child("name");
        if (!require(r, item.get("name"), item.line(), name_path, "a zone name") ||
            !read_string(r, item.get("name"), name_path, name))
            return;
        hinted = true;
        here = here || name == zone;
    });
    if (zone.empty() || !hinted) return;
    ep.zone_hint = here ? ZoneHint::here : ZoneHint::other;
}

// An endpoint's first address, of the slice's family.
bool read_endpoint_address(Reporter& r, YNode n, const FieldPath& f, uint32_t& out) { return read_ipv4(r, n, f, out); }
bool read_endpoint_address(Reporter& r, YNode n, const FieldPath& f, Ip6& out) {
    std::vector<uint32_t> v4;
    std::vector<Ip6> v6;
    if (!read_ip_any(r, n, f, v4, v6)) return false;
    if (!v4.empty()) {
        r.error(n.line(), f, "\"" + std::string(n.str()) + "\" is IPv4 in a slice of addressType IPv6 (want an IPv6 address)");
        return false;
    }
    out = v6[0];
    return true;
}

template <typename Addr>
void read_endpoints(Reporter& r, YNode endpoints, const std::string& zone, std::vector<BasicEndpoint<Addr>>& out) {
    FieldPath eps_path{nullptr, "endpoints", -1};
    for_each_item(r, endpoints, eps_path, [&](YNode item, const FieldPath& p) {
        if (!expect_map(r, item, p)) return;
        YNode addresses = item.get("addresses");
        FieldPath addr_path = p.child("addresses");
        if (!expect_list(r, addresses, addr_path)) return;
        if (addresses.size() == 0) {
            r.error(item.line(), addr_path, "missing (want at least one address)");
            return;
        }
        BasicEndpoint<Addr> ep;
        if (!read_endpoint_address(r, addresses.item(0), addr_path.at(0), ep.ip)) return;
        read_conditions(r, item.get("conditions"), p.child("conditions"), ep);
        read_zone_hint(r, item.get("hints"), p.child("hints"), zone, ep);
        out.push_back(ep);
    });
}

}  // namespace

void read_endpoint_slice(Reporter& r, YNode obj, const Model& gateway, std::vector<SliceSource>& out) {
    size_t errors_before = r.error_count();
    SliceSource src;
    src.file = r.file();
    src.line = obj.line();
    YNode meta = obj.get("metadata");
    src.name = meta.get("name").str();
    src.ns = meta.get("namespace").is_null() ? "default" : std::string(meta.get("namespace").str());
    FieldPath name_path{nullptr, "metadata.name", -1};
    if (require(r, meta.get("name"), obj.line(), name_path, "the EndpointSlice name"))
        read_string(r, meta.get("name"), name_path, src.name);

    size_t family = 0;
    YNode address_type = obj.get("addressType");
    FieldPath type_path{nullptr, "addressType", -1};
    if (require(r, address_type, obj.line(), type_path, "IPv4, IPv6 or FQDN") &&
        read_enum(r, address_type, type_path, {"IPv4", "IPv6", "FQDN"}, family)) {
        if (family == 2) {
            r.notice(address_type.line(), "skipped: addressType FQDN (nfgate forwards to addresses)");
            return;
        }
        if (family == 1 && !gateway.has_ipv6()) {
            r.notice(address_type.line(), "skipped: addressType IPv6 and the gateway has no IPv6 address");
            return;
        }
    }
    YNode service_name = meta.get("labels").get(kServiceNameLabel);
    if (service_name.is_null()) {
        r.notice(obj.line(), "skipped: no label " + std::string(kServiceNameLabel) +
                                 " (an EndpointSlice belongs to the Service that label names)");
        return;
    }
    read_string(r, service_name, FieldPath{nullptr, "metadata.labels.kubernetes.io/service-name", -1},
                src.service_name);
    read_slice_ports(r, obj.get("ports"), src);
    if (family == 1)
        read_endpoints(r, obj.get("endpoints"), gateway.zone, src.addresses6);
    else
        read_endpoints(r, obj.get("endpoints"), gateway.zone, src.addresses);
    if (r.error_count() == errors_before) out.push_back(std::move(src));
}

}  // namespace nfgate::loader

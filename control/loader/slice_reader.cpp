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

void read_endpoints(Reporter& r, YNode endpoints, SliceSource& out) {
    FieldPath eps_path{nullptr, "endpoints", -1};
    for_each_item(r, endpoints, eps_path, [&](YNode item, const FieldPath& p) {
        if (!expect_map(r, item, p)) return;
        YNode addresses = item.get("addresses");
        FieldPath addr_path = p.child("addresses");
        if (!expect_list(r, addresses, addr_path)) return;
        if (addresses.size() == 0) {
            r.error(item.line(), addr_path, "missing (want at least one IPv4 address)");
            return;
        }
        Endpoint ep;
        if (!read_ipv4(r, addresses.item(0), addr_path.at(0), ep.ip)) return;
        // The API says: a nil ready condition means "unknown" and consumers should read it as ready.
        YNode conditions = item.get("conditions");
        FieldPath cond_path = p.child("conditions");
        if (expect_map(r, conditions, cond_path)) read_bool(r, conditions.get("ready"), cond_path.child("ready"), ep.ready);
        out.addresses.push_back(ep);
    });
}

}  // namespace

void read_endpoint_slice(Reporter& r, YNode obj, std::vector<SliceSource>& out) {
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
        read_enum(r, address_type, type_path, {"IPv4", "IPv6", "FQDN"}, family) && family != 0) {
        r.notice(address_type.line(), "skipped: addressType " + std::string(address_type.str()) +
                                          " (nfgate forwards IPv4)");
        return;
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
    read_endpoints(r, obj.get("endpoints"), src);
    if (r.error_count() == errors_before) out.push_back(std::move(src));
}

}  // namespace nfgate::loader

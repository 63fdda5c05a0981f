#include "control/api/api_answers.hpp"

#include <algorithm>
#include <charconv>

#include "model/endpoint_choice.hpp"

namespace nfgate::api {

namespace {

uint64_t frontend_key(uint8_t proto, uint32_t ip, uint16_t port) {
    return (uint64_t{proto} << 48) | (uint64_t{ip} << 16) | port;
}

Json optional_json(const std::optional<uint64_t>& v) { return v ? Json(*v) : Json(nullptr); }
Json optional_json(const std::optional<uint32_t>& v) { return v ? Json(*v) : Json(nullptr); }

// The tuple's source and destination in the flow's family.
std::string src_str(const FlowTuple& t, bool ipv6) {
    return ipv6 ? endpoint_str(t.src6, t.sport) : endpoint_str(t.src, t.sport);
}
std::string dst_str(const FlowTuple& t, bool ipv6) {
    return ipv6 ? endpoint_str(t.dst6, t.dport) : endpoint_str(t.dst, t.dport);
}

Json tuple_json(const FlowTuple& t, bool ipv6) {
    return Json{{"src", src_str(t, ipv6)}, {"dst", dst_str(t, ipv6)}};
}

// "ip" or "ip:port" into the filter's optional fields; with `ip6`, also "ipv6" or "[ipv6]:port"
// (the port after the brackets, as in a URL: a bare IPv6 address has colons of its own).
bool parse_endpoint(const std::string& s, std::optional<uint32_t>& ip, std::optional<uint16_t>& port,
                    std::optional<Ip6>* ip6 = nullptr) {
    size_t colon = s.find(':');
    if (ip6 != nullptr && (s.starts_with('[') || s.find(':', colon + 1) != std::string::npos)) {
        Ip6 a;
        if (!s.starts_with('[')) {
            if (!parse_ipv6(s, a)) return false;
            *ip6 = a;
            return true;
        }
        const size_t close = s.find(']');
        if (close == std::string::npos || !parse_ipv6(std::string_view(s).substr(1, close - 1), a)) return false;
        *ip6 = a;
        if (close + 1 == s.size()) return true;
        if (s[close + 1] != ':') return false;
        colon = close + 1;
    } else {
        uint32_t a;
        if (!parse_ipv4(std::string_view(s).substr(0, colon), a)) return false;
        ip = a;
        if (colon == std::string::npos) return true;
    }
    unsigned p = 0;
    const char* b = s.data() + colon + 1;
    const char* e = s.data() + s.size();
    auto [end, ec] = std::from_chars(b, e, p);
    if (ec != std::errc{} || end != e || p == 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
    return true;
}

// Each endpoint in one list: where new connections go (chosen_endpoints: ready ones, or the
// serving terminating ones when none is ready), ready ones the zone preference leaves out, and
// the rest.
template <typename E>
void split_endpoints(const std::vector<E>& all, const std::vector<E>& picked, Json& chosen, Json& not_ready,
                     Json& other_zone) {
    size_t next = 0;  // picked is a subsequence of all
    for (const auto& e : all) {
        const bool is_chosen = next < picked.size() && picked[next] == e;
        next += is_chosen ? 1 : 0;
        (is_chosen ? chosen : e.ready ? other_zone : not_ready).push_back(endpoint_str(e.ip, e.port));
    }
}

}  // namespace

const char* proto_upper(uint8_t proto) {
    switch (proto) {
        case 1: return "ICMP";
        case 6: return "TCP";
        case 17: return "UDP";
        case 58: return "ICMPv6";
        case 132: return "SCTP";
    }
    return "OTHER";
}

Json status_json(const DaemonStatus& d, const Model& m) {
    Json ports = Json::array();
    for (const auto& ifc : m.interfaces)
        ports.push_back({{"name", ifc.name},
                         {"device", ifc.device},
                         {"address", ip_to_string(ifc.address.addr) + "/" + std::to_string(ifc.address.len)}});
    size_t endpoints = 0, service_ports = 0;
    for (const auto& s : m.services) {
        service_ports += s.ports.size();
        for (const auto& p : s.ports) endpoints += p.endpoints.size();
    }
    return Json{
        {"version", d.version},
        {"dataplane", m.dataplane == DataplaneKind::dpdk ? "dpdk" : "kernel"},
        {"config", d.config_path},
        {"uptime_seconds", d.uptime_s},
        {"control_socket", d.control_socket},
        {"metrics_address", d.metrics_address},
        {"last_reload", {{"result", d.last_reload},
                         {"error", d.last_reload_error},
                         {"unix_time", d.last_reload_unix}}},
        {"reloads", {{"ok", d.reloads_ok}, {"rejected", d.reloads_rejected}}},
        {"workers", m.dataplane == DataplaneKind::dpdk ? Json(m.workers) : Json(nullptr)},
        {"ports", std::move(ports)},
        {"services", m.services.size()},
        {"service_ports", service_ports},
        {"endpoints", endpoints},
    };
}

Json services_json(const Model& m, std::span<const Frontend> fronts, std::span<const FrontendFigures> figures) {
    Json out = Json::array();
    for (size_t i = 0; i < fronts.size(); ++i) {
        const Frontend& f = fronts[i];
        const Service& svc = m.services[f.service];
        const ServicePort& p = svc.ports[f.port_index];
        // An IPv6 frontend sends new connections to the IPv6 slices' endpoints only.
        Json chosen = Json::array(), not_ready = Json::array(), other_zone = Json::array();
        if (f.ipv6) split_endpoints(p.endpoints6, chosen_endpoints6(p), chosen, not_ready, other_zone);
        else split_endpoints(p.endpoints, chosen_endpoints(p), chosen, not_ready, other_zone);
        const FrontendFigures none;
        const FrontendFigures& fig = i < figures.size() ? figures[i] : none;
        out.push_back({
            {"namespace", svc.ns},
            {"name", svc.name},
            {"port_name", p.name},
            {"kind", frontend_kind_name(f.kind)},
            {"vip", f.ipv6 ? ip6_to_string(f.ip6) : ip_to_string(f.ip)},
            {"port", f.port},
            {"protocol", proto_upper(static_cast<uint8_t>(f.proto))},
            {"endpoints", std::move(chosen)},
            {"endpoints_not_ready", std::move(not_ready)},
            {"endpoints_other_zone", std::move(other_zone)},
            {"flows", optional_json(fig.flows)},
            {"connections", optional_json(fig.connections)},
            {"packets", optional_json(fig.packets)},
            {"bytes", optional_json(fig.bytes)},
        });
    }
    return out;
}

Json counters_json(const fastpath::Counters& c) {
    auto drops = [](const fastpath::ReasonCounts& r) {
        Json d = Json::object();
        for (size_t i = 0; i < r.size(); ++i) d[std::string(engine::kReasonNames[i])] = r[i];
        return d;
    };
    Json ports = Json::array(), workers = Json::array();
    for (const auto& p : c.ports)
        ports.push_back({{"name", p.name},
                         {"rx_packets", p.rx_packets},
                         {"tx_packets", p.tx_packets},
                         {"rx_bytes", nullptr},
                         {"tx_bytes", nullptr},
                         {"tx_ring_full", p.tx_ring_full}});
    for (size_t w = 0; w < c.workers.size(); ++w) {
        const auto& k = c.workers[w];
        workers.push_back({{"worker", w},
                           {"rx", k.rx_packets},
                           {"tx", k.tx_packets},
                           {"forwarded_nat", k.forwarded_nat},
                           {"forwarded_plain", k.forwarded_plain},
                           {"flows_created", k.flows_created},
                           {"snat_fill", k.snat_fill},
                           {"busy_cycles", k.busy_cycles},
                           {"loop_cycles", k.loop_cycles},
                           {"drops", drops(k.reasons)}});
    }
    return Json{{"ports", std::move(ports)},
                {"workers", std::move(workers)},
                {"drops", drops(c.total().reasons)},
                {"flows_in_use", c.flows_in_use},
                {"flow_capacity", c.flow_capacity},
                {"half_open_flows", c.half_open_flows},
                {"syn_proxy", c.syn_proxy}};
}

bool parse_trace_args(const Json& args, TracePacket& out, std::string& err) {
    out = {};
    const std::string proto = args.value("protocol", std::string());
    if (proto == "tcp" || proto == "TCP") out.proto = 6;
    else if (proto == "udp" || proto == "UDP") out.proto = 17;
    else {
        err = "PROTO \"" + proto + "\": want tcp or udp";
        return false;
    }
    // Each side is IPv4 "a.b.c.d:port" or IPv6 "[addr]:port"; both of one family.
    std::optional<uint32_t> ip[2];
    std::optional<Ip6> ip6[2];
    std::optional<uint16_t> port[2];
    const char* names[2] = {"SRC:SPORT", "DST:DPORT"};
    const std::string text[2] = {args.value("source", std::string()), args.value("destination", std::string())};
    for (int i = 0; i < 2; ++i)
        if (!parse_endpoint(text[i], ip[i], port[i], &ip6[i]) || !port[i]) {
            err = std::string(names[i]) + " \"" + text[i] + "\": want an IPv4 address and a port (a.b.c.d:PORT) or an "
                  "IPv6 address in brackets and a port ([ADDR]:PORT)";
            return false;
        }
    if (ip6[0].has_value() != ip6[1].has_value()) {
        err = "SRC:SPORT \"" + text[0] + "\" and DST:DPORT \"" + text[1] +
              "\" are of different families: want both IPv4 or both IPv6";
        return false;
    }
    out.ipv6 = ip6[0].has_value();
    if (out.ipv6) {
        out.src6 = *ip6[0];
        out.dst6 = *ip6[1];
    } else {
        out.src = *ip[0];
        out.dst = *ip[1];
    }
    out.sport = *port[0];
    out.dport = *port[1];
    return true;
}

Json trace_json(const TracePacket& p, const std::string& dataplane, const TraceResult& r) {
    Json steps = Json::array(), candidates = Json::array();
    for (const auto& s : r.steps) steps.push_back({{"stage", s.stage}, {"detail", s.detail}});
    for (const auto& e : r.candidates) candidates.push_back(endpoint_str(e.ip, e.port));
    for (const auto& e : r.candidates6) candidates.push_back(endpoint_str(e.ip, e.port));
    Json chosen = r.chosen    ? Json(endpoint_str(r.chosen->ip, r.chosen->port))
                  : r.chosen6 ? Json(endpoint_str(r.chosen6->ip, r.chosen6->port))
                              : Json(nullptr);
    Json snat = r.snat ? Json(ip_to_string(*r.snat)) : r.snat6 ? Json(ip6_to_string(*r.snat6)) : Json(nullptr);
    return Json{{"protocol", proto_upper(p.proto)},
                {"source", p.ipv6 ? endpoint_str(p.src6, p.sport) : endpoint_str(p.src, p.sport)},
                {"destination", p.ipv6 ? endpoint_str(p.dst6, p.dport) : endpoint_str(p.dst, p.dport)},
                {"dataplane", dataplane},
                {"steps", std::move(steps)},
                {"verdict", r.verdict},
                {"reason", r.reason},
                {"service", r.service.empty() ? Json(nullptr) : Json(r.service)},
                {"candidates", std::move(candidates)},
                {"chosen", std::move(chosen)},
                {"masquerade", r.masquerade},
                {"snat", std::move(snat)}};
}

bool parse_flow_filter(const Json& args, FlowFilter& out, std::string& err) {
    out = {};
    if (args.is_null()) return true;
    if (!args.is_object()) {
        err = "args must be an object";
        return false;
    }
    if (auto it = args.find("service"); it != args.end() && !it->is_null()) {
        if (!it->is_string() || it->get<std::string>().find('/') == std::string::npos) {
            err = "service: want NAMESPACE/NAME";
            return false;
        }
        out.service = it->get<std::string>();
    }
    if (auto it = args.find("endpoint"); it != args.end() && !it->is_null()) {
        if (!it->is_string() ||
            !parse_endpoint(it->get<std::string>(), out.endpoint_ip, out.endpoint_port, &out.endpoint_ip6)) {
            err = "endpoint: want IP or IP:PORT ([IPV6]:PORT)";
            return false;
        }
    }
    if (auto it = args.find("client"); it != args.end() && !it->is_null()) {
        std::optional<uint16_t> unused;
        if (!it->is_string() || !parse_endpoint(it->get<std::string>(), out.client_ip, unused, &out.client_ip6)) {
            err = "client: want an IPv4 or IPv6 address";
            return false;
        }
    }
    if (auto it = args.find("limit"); it != args.end() && !it->is_null()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0) {
            err = "limit: want a non-negative integer";
            return false;
        }
        out.limit = it->get<size_t>();
    }
    return true;
}

FrontendIndex::FrontendIndex(const Model&, std::span<const Frontend> fronts) {
    for (size_t i = 0; i < fronts.size(); ++i) {
        const Frontend& f = fronts[i];
        if (f.ipv6) sorted6_.push_back({{static_cast<uint8_t>(f.proto), f.ip6, f.port}, static_cast<int>(i)});
        else sorted_.emplace_back(frontend_key(static_cast<uint8_t>(f.proto), f.ip, f.port), static_cast<int>(i));
    }
    std::sort(sorted_.begin(), sorted_.end());
    std::sort(sorted6_.begin(), sorted6_.end());
}

int FrontendIndex::find(uint8_t proto, uint32_t ip, uint16_t port) const {
    const uint64_t k = frontend_key(proto, ip, port);
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::pair<uint64_t, int>{k, -1});
    return it != sorted_.end() && it->first == k ? it->second : -1;
}

int FrontendIndex::find(uint8_t proto, const Ip6& ip, uint16_t port) const {
    const Key6 k{proto, ip, port};
    auto it = std::lower_bound(sorted6_.begin(), sorted6_.end(), std::pair<Key6, int>{k, -1});
    return it != sorted6_.end() && it->first == k ? it->second : -1;
}

int FrontendIndex::find(const TrackedFlow& f) const {
    return f.ipv6 ? find(f.proto, f.orig.dst6, f.orig.dport) : find(f.proto, f.orig.dst, f.orig.dport);
}

FlowListing::FlowListing(const Model& m, std::span<const Frontend> fronts, const FlowFilter& filter, bool services_only)
    : model_(m), fronts_(fronts), index_(m, fronts), filter_(filter), services_only_(services_only) {}

bool FlowListing::add(const TrackedFlow& f) {
    const int fi = index_.find(f);
    if (fi < 0 && (services_only_ || !filter_.service.empty())) return true;
    const Service* svc = fi >= 0 ? &model_.services[fronts_[fi].service] : nullptr;
    if (!filter_.service.empty() && svc->key() != filter_.service) return true;
    // The backend is where replies come from; the client as the gateway saw it. An address of
    // one family keeps only that family's flows.
    if (filter_.endpoint_ip || filter_.endpoint_ip6) {
        const bool same = f.ipv6 ? filter_.endpoint_ip6 && f.reply.src6 == *filter_.endpoint_ip6
                                 : filter_.endpoint_ip && f.reply.src == *filter_.endpoint_ip;
        if (!same || (filter_.endpoint_port && f.reply.sport != *filter_.endpoint_port)) return true;
    }
    if (filter_.client_ip || filter_.client_ip6) {
        const bool same = f.ipv6 ? filter_.client_ip6 && f.orig.src6 == *filter_.client_ip6
                                 : filter_.client_ip && f.orig.src == *filter_.client_ip;
        if (!same) return true;
    }
    if (filter_.limit != 0 && flows_.size() >= filter_.limit) {
        truncated_ = true;  // one more matched: the listing is cut, stop walking
        return false;
    }
    // Replies addressed elsewhere than the client: the gateway translated the source (SNAT).
    const bool snat = (f.ipv6 ? f.reply.dst6 != f.orig.src6 : f.reply.dst != f.orig.src) || f.reply.dport != f.orig.sport;
    Json j{
        {"protocol", proto_upper(f.proto)},
        {"state", f.state},
        {"client", src_str(f.orig, f.ipv6)},
        {"frontend", dst_str(f.orig, f.ipv6)},
        {"backend", src_str(f.reply, f.ipv6)},
        {"snat", snat ? Json(dst_str(f.reply, f.ipv6)) : Json(nullptr)},
        {"service", svc ? Json(svc->key()) : Json(nullptr)},
        {"port_name", svc ? Json(svc->ports[fronts_[fi].port_index].name) : Json(nullptr)},
        {"original", tuple_json(f.orig, f.ipv6)},
        {"reply", tuple_json(f.reply, f.ipv6)},
        {"age", optional_json(f.age_s)},
        {"timeout", optional_json(f.timeout_s)},
        {"packets", optional_json(f.packets)},
        {"bytes", optional_json(f.bytes)},
    };
    flows_.push_back(std::move(j));
    return true;
}

Json FlowListing::take() {
    return Json{{"flows", std::move(flows_)}, {"truncated", truncated_}};
}

}  // namespace nfgate::api

#include "control/ctl/ctl_tables.hpp"

#include <algorithm>
#include <vector>

namespace nfgate::ctl {

namespace {

using Row = std::vector<std::string>;

// A value as a cell: strings bare, null as "-", lists joined by commas.
std::string cell(const Json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_array()) {
        std::string s;
        for (const auto& e : v) s += (s.empty() ? "" : ",") + cell(e);
        return s.empty() ? "-" : s;
    }
    if (v.is_number_float()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", v.get<double>());
        return buf;
    }
    return v.dump();
}

void print_table(std::ostream& out, const Row& head, const std::vector<Row>& rows) {
    std::vector<size_t> width(head.size());
    for (size_t c = 0; c < head.size(); ++c) width[c] = head[c].size();
    for (const auto& r : rows)
        for (size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
    auto line = [&](const Row& r) {
        std::string s;
        for (size_t c = 0; c < r.size(); ++c) {
            s += r[c];
            if (c + 1 < r.size()) s += std::string(width[c] - r[c].size() + 2, ' ');
        }
        out << s << '\n';
    };
    line(head);
    for (const auto& r : rows) line(r);
}

void print_status(std::ostream& out, const Json& r) {
    const Json& last = r["last_reload"];
    out << "dataplane:      " << cell(r["dataplane"]) << '\n'
        << "version:        " << cell(r["version"]) << '\n'
        << "uptime:         " << cell(r["uptime_seconds"]) << " s\n"
        << "config:         " << cell(r["config"]) << '\n'
        << "last reload:    " << cell(last["result"])
        << (last["error"].is_string() && !last["error"].get<std::string>().empty() ? ": " + cell(last["error"]) : "")
        << '\n'
        << "reloads:        " << cell(r["reloads"]["ok"]) << " ok, " << cell(r["reloads"]["rejected"]) << " rejected\n"
        << "services:       " << cell(r["services"]) << " (" << cell(r["service_ports"]) << " ports, "
        << cell(r["endpoints"]) << " endpoints)\n"
        << "workers:        " << cell(r["workers"]) << '\n'
        << "metrics:        " << (cell(r["metrics_address"]).empty() ? "off" : cell(r["metrics_address"])) << '\n';
    std::vector<Row> rows;
    for (const auto& p : r["ports"]) rows.push_back({cell(p["name"]), cell(p["address"]), cell(p["device"])});
    if (!rows.empty()) {
        out << '\n';
        print_table(out, {"PORT", "ADDRESS", "DEVICE"}, rows);
    }
}

void print_services(std::ostream& out, const Json& r) {
    std::vector<Row> rows;
    for (const auto& s : r) {
        // An IPv6 VIP in brackets, as the endpoints are written: its own colons would swallow the port.
        const std::string vip = cell(s["vip"]);
        const std::string frontend = (vip.find(':') != std::string::npos ? "[" + vip + "]" : vip) + ":" + cell(s["port"]);
        rows.push_back({cell(s["namespace"]) + "/" + cell(s["name"]) +
                            (cell(s["port_name"]).empty() ? "" : ":" + cell(s["port_name"])),
                        cell(s["kind"]), frontend, cell(s["protocol"]),
                        cell(s["endpoints"]), cell(s["flows"]), cell(s["connections"]), cell(s["packets"]),
                        cell(s["bytes"])});
    }
    print_table(out, {"SERVICE", "KIND", "FRONTEND", "PROTO", "ENDPOINTS", "FLOWS", "CONNS", "PACKETS", "BYTES"}, rows);
}

void print_flows(std::ostream& out, const Json& r) {
    std::vector<Row> rows;
    for (const auto& f : r["flows"])
        rows.push_back({cell(f["protocol"]), cell(f["state"]), cell(f["client"]), cell(f["frontend"]),
                        cell(f["backend"]), cell(f["snat"]), cell(f["service"]), cell(f["age"]),
                        cell(f["timeout"])});
    print_table(out, {"PROTO", "STATE", "CLIENT", "FRONTEND", "BACKEND", "SNAT", "SERVICE", "AGE", "TIMEOUT"}, rows);
    if (r.value("truncated", false)) out << "(more flows match: raise --limit)\n";
}

void print_counters(std::ostream& out, const Json& r) {
    if (r.contains("ports")) {
        std::vector<Row> rows;
        for (const auto& p : r["ports"])
            rows.push_back({cell(p["name"]), cell(p["rx_packets"]), cell(p["tx_packets"]), cell(p["rx_bytes"]),
                            cell(p["tx_bytes"]), cell(p["tx_ring_full"])});
        print_table(out, {"PORT", "RX_PACKETS", "TX_PACKETS", "RX_BYTES", "TX_BYTES", "TX_RING_FULL"}, rows);
    }
    if (r.contains("workers")) {
        out << '\n';
        std::vector<Row> rows;
        for (const auto& w : r["workers"])
            rows.push_back({cell(w["worker"]), cell(w["rx"]), cell(w["forwarded_nat"]), cell(w["forwarded_plain"]),
                            cell(w["flows_created"])});
        print_table(out, {"WORKER", "RX", "FORWARDED_NAT", "FORWARDED_PLAIN", "FLOWS_CREATED"}, rows);
    }
    if (r.contains("drops")) {
        out << '\n';
        std::vector<Row> rows;
        for (const auto& [reason, v] : r["drops"].items())
            if (v.is_number() && v.get<uint64_t>() != 0) rows.push_back({reason, cell(v)});
        if (rows.empty()) out << "no drops or exceptions\n";
        else print_table(out, {"REASON", "PACKETS"}, rows);
    }
    for (const auto& [key, v] : r.items())
        if (key != "ports" && key != "workers" && key != "drops" && !v.is_structured())
            out << key << ": " << cell(v) << '\n';
}

// Sessions as BIRD reports them, then what nfgate announces.
void print_bgp(std::ostream& out, const Json& r) {
    out << "speaker:   BIRD " << (r["running"].get<bool>() ? "running" : "not running") << " (restarts: "
        << cell(r["restarts"]) << ", socket " << cell(r["socket"]) << ")\n";
    if (r.contains("error")) out << "error:     " << cell(r["error"]) << '\n';
    std::vector<Row> rows;
    for (const auto& s : r["sessions"]) {
        std::string uptime = "-";
        if (s["uptime_s"].is_number()) uptime = std::to_string(s["uptime_s"].get<int64_t>()) + "s";
        rows.push_back({cell(s["peer"]), cell(s["asn"]), cell(s["state"]), uptime, cell(s["exported"]),
                        cell(s["imported"]), cell(s["info"])});
    }
    out << '\n';
    print_table(out, {"PEER", "ASN", "STATE", "UPTIME", "EXPORTED", "IMPORTED", "INFO"}, rows);
    out << "\nannounced (" << r["announced"].size() << "): " << cell(r["announced"]) << '\n';
}

}  // namespace

void print_human(std::ostream& out, const std::string& command, const Json& result) {
    if (command == "status") print_status(out, result);
    else if (command == "services") print_services(out, result);
    else if (command == "flows") print_flows(out, result);
    else if (command == "counters") print_counters(out, result);
    else if (command == "bgp") print_bgp(out, result);
    else if (command == "trace") {
        out << cell(result["protocol"]) << " " << cell(result["source"]) << " -> " << cell(result["destination"])
            << " on the " << cell(result["dataplane"]) << " path\n";
        for (const auto& st : result["steps"]) out << "  " << cell(st["stage"]) << ": " << cell(st["detail"]) << '\n';
        out << "verdict: " << cell(result["verdict"]);
        if (!cell(result["reason"]).empty() && cell(result["reason"]) != "-") out << " (" << cell(result["reason"]) << ")";
        out << '\n';
        if (!result["chosen"].is_null()) out << "endpoint: " << cell(result["chosen"]) << '\n';
        else if (!result["candidates"].empty()) out << "endpoint: one of " << cell(result["candidates"]) << '\n';
        if (result.value("masquerade", false))
            out << "source NAT: " << (result["snat"].is_null() ? "masquerade" : cell(result["snat"])) << '\n';
    } else if (command == "capture")
        out << cell(result["written"]) << " of " << cell(result["wanted"]) << " packets of " << cell(result["interface"])
            << " written to " << cell(result["file"]) << " (" << cell(result["lost"]) << " lost, stopped by "
            << cell(result["stopped_by"]) << ")\n";
    else if (result.is_string()) out << result.get<std::string>() << '\n';
    else out << result.dump(2) << '\n';
}

}  // namespace nfgate::ctl

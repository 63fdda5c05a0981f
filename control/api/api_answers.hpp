// The control API's answers as JSON, built from plain data: the model in force, what the
// daemon knows of itself, and what a data path measured. Pure functions, unit-tested; the keys
// are the contract nfgatectl's `-o json` prints (CONTRACT.md, "Operating it").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/counters.hpp"
#include "model/frontends.hpp"
#include "model/ip6.hpp"
#include "model/model.hpp"
#include "model/trace_result.hpp"
#include "model/tracked_flow.hpp"

namespace nfgate::api {

using Json = nlohmann::json;

struct DaemonStatus {
    std::string version;
    std::string config_path;
    double uptime_s = 0;
    std::string control_socket;
    std::string metrics_address;  // empty: off
    // The last reload (SIGHUP or `nfgatectl reload`): "none" before the first.
    std::string last_reload = "none";  // none | ok | rejected
    std::string last_reload_error;     // the first reason, when rejected
    int64_t last_reload_unix = 0;
    uint64_t reloads_ok = 0, reloads_rejected = 0;
};

Json status_json(const DaemonStatus& d, const Model& m);

// What a data path measured per frontend (index-aligned with frontends(m)); a figure the path
// does not keep is null in the answer, never a made-up zero.
struct FrontendFigures {
    std::optional<uint64_t> flows;        // tracked now
    std::optional<uint64_t> connections;  // new connections since the frontend appeared
    std::optional<uint64_t> packets;      // since the frontend appeared (both directions)
    std::optional<uint64_t> bytes;
};

// One element per frontend (each VIP:port and each node address:nodePort of every Service port,
// of either family: all_frontends()): namespace, name, port_name, kind, vip, port, protocol,
// endpoints ("ip:port" new connections go to: chosen_endpoints(); "[ipv6]:port" for an IPv6
// frontend: chosen_endpoints6()), endpoints_not_ready (neither ready nor in use: not ready, terminating
// while ready ones exist, or no longer serving), endpoints_other_zone (ready, left out by the
// gateway's zone preference), flows, connections, packets, bytes.
Json services_json(const Model& m, std::span<const Frontend> fronts, std::span<const FrontendFigures> figures);

// The fast path's counters: ports (packets in and out, TX ring full), workers (packets, NAT and
// plain forwards, flows created, drops by reason), drops by reason summed, flows in use and the
// table's capacity.
Json counters_json(const fastpath::Counters& c);

// Which flows a listing keeps; empty fields keep everything. An address of one family keeps
// only flows of that family.
struct FlowFilter {
    std::string service;            // "ns/name"
    std::optional<uint32_t> endpoint_ip;
    std::optional<uint16_t> endpoint_port;
    std::optional<uint32_t> client_ip;
    size_t limit = 0;               // 0: no limit
    std::optional<Ip6> endpoint_ip6;  // "endpoint" given as an IPv6 address or [IPV6]:PORT
    std::optional<Ip6> client_ip6;
};

// Reads {"service","endpoint","client","limit"} from a request; false with err on a bad value.
// Addresses of either family: "10.244.1.10", "10.244.1.10:8080", "fd00::10", "[fd00::10]:8080".
bool parse_flow_filter(const Json& args, FlowFilter& out, std::string& err);

// Finds the Service port a flow belongs to by its original destination, among the frontends
// of both families that `fronts` holds.
class FrontendIndex {
public:
    FrontendIndex(const Model& m, std::span<const Frontend> fronts);
    // Index into the frontends, or -1 when the flow is not to a Service of the model.
    int find(uint8_t proto, uint32_t ip, uint16_t port) const;
    int find(uint8_t proto, const Ip6& ip, uint16_t port) const;
    int find(const TrackedFlow& f) const;  // by the flow's family and original destination

private:
    using Key6 = std::tuple<uint8_t, Ip6, uint16_t>;  // proto, address, port
    std::vector<std::pair<uint64_t, int>> sorted_;  // (key, frontend index), sorted by key
    std::vector<std::pair<Key6, int>> sorted6_;     // the IPv6 frontends, the same way
};

// Appends the flow to `out` as JSON if it passes the filter and belongs to a Service (with
// `services_only`); returns false once the limit is reached (stop walking).
class FlowListing {
public:
    FlowListing(const Model& m, std::span<const Frontend> fronts, const FlowFilter& filter, bool services_only);
    bool add(const TrackedFlow& f);
    Json take();  // {"flows": [...], "truncated": bool}

private:
    const Model& model_;
    std::span<const Frontend> fronts_;
    FrontendIndex index_;
    FlowFilter filter_;
    bool services_only_;
    Json flows_ = Json::array();
    bool truncated_ = false;
};

// {"protocol": "tcp|udp", "source": "ip:port", "destination": "ip:port"} -> a packet.
bool parse_trace_args(const Json& args, TracePacket& out, std::string& err);
Json trace_json(const TracePacket& p, const std::string& dataplane, const TraceResult& r);

const char* proto_upper(uint8_t proto);                 // "TCP", "UDP", "ICMP", "ICMPv6", "SCTP" or "OTHER"

}  // namespace nfgate::api

// What nfgate exports to Prometheus, as plain data, and its text exposition format (version
// 0.0.4). Pure: the daemon fills a snapshot on the control thread; the HTTP server only hands
// out the rendered text, so a scrape never reaches a worker or the flow table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nfgate::metrics {

// A cumulative histogram of durations in seconds, Prometheus-style (le buckets + sum + count).
class DurationHistogram {
public:
    // Bounds 1 ms · 2^i, i = 0..14 (1 ms .. ~16 s), as kube-proxy's sync_proxy_rules_duration_seconds.
    DurationHistogram();
    void observe(double seconds);

    const std::vector<double>& bounds() const { return bounds_; }
    const std::vector<uint64_t>& counts() const { return counts_; }  // per bucket, not cumulative
    double sum() const { return sum_; }
    uint64_t count() const { return count_; }

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;
    double sum_ = 0;
    uint64_t count_ = 0;
};

struct InterfaceFigures {
    std::string name;
    uint64_t rx_packets = 0, tx_packets = 0;
    std::optional<uint64_t> rx_bytes, tx_bytes;  // where the path counts bytes
};

struct WorkerFigures {
    unsigned worker = 0;
    uint64_t rx_packets = 0, tx_packets = 0, flows_created = 0;
    uint64_t loop_cycles = 0, busy_cycles = 0;  // TSC cycles of the poll loop, and of turns with packets
    std::optional<double> busy_ratio;     // busy / loop cycles over the last refresh interval
    std::optional<double> snat_pool_fill;  // SNAT ports in use / ports in its slice
};

// What a data path counted for one Service port, summed over its frontends.
struct ServicePortTraffic {
    std::string service;   // "namespace/name"
    std::string port;      // the port's name, or its number when unnamed
    std::string protocol;  // "TCP", "UDP"
    std::optional<uint64_t> connections, packets, bytes;
};

// The BGP speaker (control/bgp/) as nfgate sees it.
// Following a live cluster (the gateway file's `kubernetes` section).
struct KubernetesFigures {
    struct Resource {
        std::string name;  // "services", "endpointslices"
        bool up = false;   // its list or watch is answered now
        uint64_t errors = 0;   // failed requests: no answer, HTTP errors, broken streams
        uint64_t events = 0;   // watch events received (bookmarks included)
        uint64_t relists = 0;  // lists after the first (410 Gone, reconnects)
    };
    std::vector<Resource> resources;
    uint64_t objects = 0;          // usable objects in the cluster cache
    uint64_t skipped_objects = 0;  // objects refused (invalid, or conflicting), counted at each apply
    uint64_t applies = 0;          // cluster changes applied to the data path
    // From the first change the control thread took from the API client to the data path having
    // applied it (the minSyncPeriod wait included): kube-proxy's network programming latency,
    // from the gateway's side.
    DurationHistogram change_to_live;
};

struct BgpFigures {
    struct Session {
        std::string peer;
        bool established = false;
        uint64_t exported = 0;  // routes announced to it
    };
    std::vector<Session> sessions;
    uint64_t announced = 0;  // prefixes nfgate asks BIRD to announce
    bool speaker_running = false;
    uint64_t speaker_restarts = 0;
};

struct Snapshot {
    std::string version;
    std::string dataplane;  // "kernel" | "dpdk"
    double start_time_seconds = 0;  // unix time the daemon started
    uint64_t reloads_success = 0, reloads_failure = 0;
    uint64_t services = 0, service_ports = 0, endpoints = 0, endpoints_ready = 0;
    std::optional<uint64_t> flows;          // tracked connections now
    std::optional<uint64_t> flow_capacity;  // what the table can hold
    std::optional<uint64_t> half_open_flows;  // TCP flows in SYN_SENT/SYN_RECV (kernel path: to frontends)
    std::optional<bool> syn_proxy;            // SYNs to Services answered with cookies (both paths)
    std::vector<InterfaceFigures> interfaces;
    std::vector<std::pair<std::string, uint64_t>> drops;  // reason -> packets, every reason listed
    std::vector<WorkerFigures> workers;
    std::vector<ServicePortTraffic> service_traffic;
    std::optional<BgpFigures> bgp;  // set when the gateway file has a bgp section
    std::optional<KubernetesFigures> kubernetes;  // set when the gateway file has a kubernetes section
    DurationHistogram sync_duration;
};

// The exposition text: HELP and TYPE lines, `_total` counters, base units, escaped labels.
std::string render(const Snapshot& s);

}  // namespace nfgate::metrics

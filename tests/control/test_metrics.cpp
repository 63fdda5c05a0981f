// /metrics without a daemon: the snapshot from a model and fast-path counters, the exposition
// text (checked by promtool where Debian's prometheus package is installed), /proc/net/dev.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "control/daemon/daemon_metrics.hpp"
#include "control/daemon/frontend_traffic_map.hpp"
#include "control/daemon/kernel_figures.hpp"
#include "control/metrics/metrics_text.hpp"

namespace nfgate {
namespace {

Model one_service() {
    Model m;
    m.dataplane = DataplaneKind::dpdk;
    Service s;
    s.ns = "lab";
    s.name = "web";
    s.cluster_ips = {0x0a60000a};
    ServicePort p;
    p.port = 80;
    p.node_port = 30080;
    p.endpoints = {{0x0af4010a, 8080, true}, {0x0af4010b, 8080, false}};
    s.ports = {p};
    m.services = {s};
    m.node_addresses = {0xc0000201, 0xc0000202};  // 192.0.2.1, 192.0.2.2
    return m;
}

// As the kernel path reports it: NodePort connections per port (ip 0), packets per node address.
std::vector<FrontendTraffic> some_traffic() {
    return {{0x0a60000a, 80, Proto::tcp, 3, 10, 1000},
            {0, 30080, Proto::tcp, 2, {}, {}},
            {0xc0000202, 30080, Proto::tcp, {}, 4, 400},
            {0x0a600063, 80, Proto::tcp, 7, 7, 7}};  // not a frontend of the model: ignored
}

fastpath::Counters some_counters() {
    fastpath::Counters c;
    c.ports = {{"ext", 100, 90, 1}, {"pods\"x", 5, 7, 0}};
    fastpath::WorkerCounters w0, w1;
    w0.rx_packets = 60;
    w0.flows_created = 3;
    w0.loop_cycles = 1000;
    w0.busy_cycles = 250;
    w0.snat_fill = 0.5;
    w0.reasons[static_cast<size_t>(engine::Reason::flow_table_full)] = 4;
    w1.rx_packets = 45;
    w1.reasons[static_cast<size_t>(engine::Reason::flow_table_full)] = 1;
    w1.reasons[static_cast<size_t>(engine::Reason::ip_bad_checksum)] = 2;
    c.workers = {w0, w1};
    c.flows_in_use = 12;
    c.flow_capacity = 1024;
    return c;
}

std::string render_fast() {
    api::DaemonStatus st;
    st.version = "0.1.0";
    st.reloads_ok = 2;
    st.reloads_rejected = 1;
    metrics::DurationHistogram h;
    h.observe(0.0005);
    h.observe(0.003);
    h.observe(100);
    metrics::Snapshot snap = daemon::make_snapshot(one_service(), st, 1.7e9, some_counters(), nullptr, h, some_traffic());
    metrics::BgpFigures bgp;
    bgp.sessions = {{"192.0.2.254", true, 2}, {"192.0.2.253", false, 0}};
    bgp.announced = 2;
    bgp.speaker_running = true;
    bgp.speaker_restarts = 1;
    snap.bgp = bgp;
    return metrics::render(snap);
}

TEST(Metrics, ContractNamesAndValues) {
    const std::string t = render_fast();
    for (const char* line : {
             "nfgate_build_info{version=\"0.1.0\",dataplane=\"dpdk\"} 1\n",
             "nfgate_config_reloads_total{result=\"success\"} 2\n",
             "nfgate_config_reloads_total{result=\"failure\"} 1\n",
             "nfgate_services 1\n",
             "nfgate_endpoints{ready=\"true\"} 1\n",
             "nfgate_endpoints{ready=\"false\"} 1\n",
             "nfgate_flows 12\n",
             "nfgate_flow_table_capacity 1024\n",
             "nfgate_packets_total{interface=\"ext\",direction=\"rx\"} 100\n",
             "nfgate_packets_total{interface=\"pods\\\"x\",direction=\"tx\"} 7\n",
             "nfgate_drops_total{reason=\"flow_table_full\"} 5\n",
             "nfgate_drops_total{reason=\"ip_bad_checksum\"} 2\n",
             "nfgate_drops_total{reason=\"eth_truncated\"} 0\n",
             "nfgate_worker_packets_total{worker=\"1\",direction=\"rx\"} 45\n",
             "nfgate_worker_flows_created_total{worker=\"0\"} 3\n",
             "nfgate_worker_cycles_total{worker=\"0\",kind=\"busy\"} 250\n",
             "nfgate_snat_pool_fill_ratio{worker=\"0\"} 0.5\n",
             "nfgate_snat_pool_fill_ratio{worker=\"1\"} 0\n",
             "nfgate_sync_duration_seconds_bucket{le=\"0.001\"} 1\n",
             "nfgate_sync_duration_seconds_bucket{le=\"0.0040000000000000001\"} 2\n",
             "nfgate_sync_duration_seconds_bucket{le=\"16.384\"} 2\n",
             "nfgate_sync_duration_seconds_bucket{le=\"+Inf\"} 3\n",
             "nfgate_sync_duration_seconds_count 3\n",
             "nfgate_service_connections_total{service=\"lab/web\",port=\"80\",protocol=\"TCP\"} 5\n",
             "nfgate_service_packets_total{service=\"lab/web\",port=\"80\",protocol=\"TCP\"} 14\n",
             "nfgate_service_bytes_total{service=\"lab/web\",port=\"80\",protocol=\"TCP\"} 1400\n",
             "nfgate_bgp_session_up{peer=\"192.0.2.254\"} 1\n",
             "nfgate_bgp_session_up{peer=\"192.0.2.253\"} 0\n",
             "nfgate_bgp_session_prefixes_exported{peer=\"192.0.2.254\"} 2\n",
             "nfgate_bgp_announced_prefixes 2\n",
             "nfgate_bgp_speaker_up 1\n",
             "nfgate_bgp_speaker_restarts_total 1\n",
         })
        EXPECT_NE(t.find(line), std::string::npos) << "missing: " << line << "in\n" << t;
}

TEST(Metrics, TrafficLandsOnItsFrontends) {
    const Model m = one_service();
    const std::vector<Frontend> fronts = frontends(m);
    ASSERT_EQ(fronts.size(), 3u);  // ClusterIP, NodePort on each node address
    const auto per = daemon::traffic_by_frontend(fronts, some_traffic());
    ASSERT_EQ(per.size(), 3u);
    EXPECT_EQ(per[0].connections, 3u);
    EXPECT_EQ(per[0].bytes, 1000u);
    EXPECT_EQ(per[1].connections, 2u) << "a per-port count goes to the first node address";
    EXPECT_FALSE(per[1].packets.has_value());
    EXPECT_FALSE(per[2].connections.has_value());
    EXPECT_EQ(per[2].packets, 4u);
    // Without figures, no service families at all.
    const std::string t = metrics::render(daemon::make_snapshot(m, {}, 0, std::nullopt, nullptr, {}));
    EXPECT_EQ(t.find("nfgate_service_packets_total"), std::string::npos);
}

FrontendTraffic traffic6(const Ip6& ip, uint16_t port, std::optional<uint64_t> connections,
                         std::optional<uint64_t> packets, std::optional<uint64_t> bytes) {
    FrontendTraffic t;
    t.ipv6 = true;
    t.ip6 = ip;
    t.port = port;
    t.connections = connections, t.packets = packets, t.bytes = bytes;
    return t;
}

// A dual-stack Service: its IPv6 frontends (listed after the IPv4 ones of the port) get the
// figures counted for their IPv6 address, never their IPv4 twins', nor the IPv4 ones theirs.
TEST(Metrics, Ipv6FrontendsGetTheirOwnTraffic) {
    Model m = one_service();
    Ip6 vip6, node6, node6b, other6;
    ASSERT_TRUE(parse_ipv6("fd00:10:96::10", vip6));
    ASSERT_TRUE(parse_ipv6("2001:db8:2::1", node6));
    ASSERT_TRUE(parse_ipv6("2001:db8:2::2", node6b));
    ASSERT_TRUE(parse_ipv6("fd00:10:96::99", other6));
    m.services[0].cluster_ips6 = {vip6};
    m.node_addresses6 = {node6, node6b};
    const std::vector<Frontend> fronts = all_frontends(m);
    ASSERT_EQ(fronts.size(), 6u);  // the three IPv4 ones, then the IPv6 ClusterIP and two NodePorts
    ASSERT_TRUE(fronts[3].ipv6 && fronts[3].ip6 == vip6);
    std::vector<FrontendTraffic> t = some_traffic();
    t.push_back(traffic6(vip6, 80, 4, 20, 2000));
    t.push_back(traffic6(Ip6{}, 30080, 6, {}, {}));   // the kernel path's per-port NodePort count
    t.push_back(traffic6(node6b, 30080, {}, 9, 900));  // packets per IPv6 node address
    t.push_back(traffic6(other6, 80, 1, 1, 1));        // not a frontend of the model: ignored
    // An IPv6 figure whose address is the IPv4 ClusterIP's bytes would be a family mix-up.
    t.push_back(traffic6(Ip6::from("\0\0\0\0\0\0\0\0\0\0\0\0\x0a\x60\0\x0a"), 80, 100, 100, 100));
    const auto per = daemon::traffic_by_frontend(fronts, t);
    ASSERT_EQ(per.size(), 6u);
    EXPECT_EQ(per[0].connections, 3u) << "the IPv4 ClusterIP keeps its own figures";
    EXPECT_EQ(per[0].bytes, 1000u);
    EXPECT_EQ(per[1].connections, 2u) << "the IPv4 per-port NodePort count stays on the first IPv4 node address";
    EXPECT_EQ(per[3].connections, 4u);
    EXPECT_EQ(per[3].packets, 20u);
    EXPECT_EQ(per[3].bytes, 2000u);
    EXPECT_TRUE(per[3].ipv6 && per[3].ip6 == vip6) << "each row names its frontend";
    EXPECT_EQ(per[4].connections, 6u) << "the IPv6 per-port count goes to the first IPv6 node address";
    EXPECT_FALSE(per[4].packets.has_value());
    EXPECT_FALSE(per[5].connections.has_value());
    EXPECT_EQ(per[5].packets, 9u);
    EXPECT_EQ(per[5].bytes, 900u);
    // Summed per Service port: both families.
    const auto rows = daemon::traffic_by_service_port(m, fronts, per);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].connections, 5u + 4 + 6);
    EXPECT_EQ(rows[0].packets, 14u + 20 + 9);
    EXPECT_EQ(rows[0].bytes, 1400u + 2000 + 900);
    // And in the exposition text the metrics rows show.
    const std::string text = metrics::render(daemon::make_snapshot(m, {}, 0, std::nullopt, nullptr, {}, t));
    EXPECT_NE(text.find("nfgate_service_connections_total{service=\"lab/web\",port=\"80\",protocol=\"TCP\"} 15\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("nfgate_service_bytes_total{service=\"lab/web\",port=\"80\",protocol=\"TCP\"} 4300\n"),
              std::string::npos)
        << text;
}

// Without IPv4 node addresses the IPv6 NodePort frontend is the port's only one: a per-port
// count (ip 0, an IPv4 figure) is not put on it; an IPv6 per-port count is.
TEST(Metrics, PerPortNodePortCountSkipsIpv6NodeAddresses) {
    Model m = one_service();
    Ip6 node6;
    ASSERT_TRUE(parse_ipv6("2001:db8:2::1", node6));
    m.node_addresses = {};
    m.node_addresses6 = {node6};
    const std::vector<Frontend> fronts = all_frontends(m);
    ASSERT_EQ(fronts.size(), 2u);  // the IPv4 ClusterIP, the IPv6 NodePort
    const auto per = daemon::traffic_by_frontend(fronts, some_traffic());
    EXPECT_FALSE(per[1].connections.has_value());
    std::vector<FrontendTraffic> t = some_traffic();
    t.push_back(traffic6(Ip6{}, 30080, 2, {}, {}));
    EXPECT_EQ(daemon::traffic_by_frontend(fronts, t)[1].connections, 2u);
}

TEST(Metrics, PromtoolAcceptsTheText) {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "promtool not installed (Debian package prometheus; ./nfgate.sh installs it)";
    const auto path = std::filesystem::temp_directory_path() / ("nfgate-metrics-" + std::to_string(::getpid()));
    std::ofstream(path) << render_fast();
    const std::string cmd = "promtool check metrics < " + path.string() + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int rc = ::pclose(p);
    std::filesystem::remove(path);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "") << "promtool's lint findings";
}

TEST(Metrics, ProcNetDevIsParsed) {
    const char* text =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n"
        "  ext0: 1234567    8910    0    0    0     0          0         0   765432    1098    0    0    0     0       0          0\n";
    const auto ifs = daemon::parse_proc_net_dev(text);
    ASSERT_EQ(ifs.size(), 1u) << "lo is left out";
    EXPECT_EQ(ifs[0].name, "ext0");
    EXPECT_EQ(ifs[0].rx_packets, 8910u);
    EXPECT_EQ(*ifs[0].rx_bytes, 1234567u);
    EXPECT_EQ(ifs[0].tx_packets, 1098u);
    EXPECT_EQ(*ifs[0].tx_bytes, 765432u);
}

TEST(Metrics, KernelPathReportsItsSynProxyAndRateLimitedFlows) {
    daemon::KernelFigures k;
    k.half_open_flows = 7;
    k.syn_proxy = true;
    k.new_flows_rate_limited = 25;
    const std::string t = metrics::render(daemon::make_snapshot(one_service(), {}, 0, std::nullopt, &k, {}));
    EXPECT_NE(t.find("nfgate_half_open_flows 7\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nfgate_syn_proxy_active 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nfgate_drops_total{reason=\"new_flow_rate_limited\"} 25\n"), std::string::npos)
        << "the fast path's series for the same drops\n" << t;
    const daemon::KernelFigures none;
    const std::string u = metrics::render(daemon::make_snapshot(one_service(), {}, 0, std::nullopt, &none, {}));
    EXPECT_EQ(u.find("new_flow_rate_limited"), std::string::npos) << "no limit, no series";
}

}  // namespace
}  // namespace nfgate

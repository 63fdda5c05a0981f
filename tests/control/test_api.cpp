// The control API without a daemon: its JSON answers from a model, the flow filter and listing,
// the socket's safe creation and one request/answer round trip, and the control thread's wait.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <sys/stat.h>

#include "control/api/api_answers.hpp"
#include "control/api/api_socket.hpp"

namespace nfgate {
namespace {

using api::Json;

uint32_t ip(const char* s) {
    uint32_t v = 0;
    EXPECT_TRUE(parse_ipv4(s, v)) << s;
    return v;
}

Model two_services() {
    Model m;
    m.node_addresses = {ip("192.0.2.1")};
    Service web;
    web.ns = "lab";
    web.name = "web";
    web.cluster_ips = {ip("10.96.0.10")};
    web.lb_ips = {ip("198.51.100.7")};
    ServicePort http;
    http.name = "http";
    http.port = 80;
    http.node_port = 30080;
    http.endpoints = {{ip("10.244.1.10"), 8080, true}, {ip("10.244.1.11"), 8080, false}};
    web.ports = {http};
    Service dns;
    dns.ns = "kube-system";
    dns.name = "dns";
    dns.cluster_ips = {ip("10.96.0.53")};
    ServicePort udp;
    udp.proto = Proto::udp;
    udp.port = 53;
    udp.endpoints = {{ip("10.244.2.5"), 53, true}};
    dns.ports = {udp};
    m.services = {dns, web};
    return m;
}

TEST(ApiAnswers, ServicesListEveryFrontendWithTheContractKeys) {
    const Model m = two_services();
    const auto fronts = frontends(m);
    ASSERT_EQ(fronts.size(), 4u);  // dns ClusterIP; web ClusterIP, LB IP, NodePort
    std::vector<api::FrontendFigures> figures(fronts.size());
    figures[1].flows = 3;
    figures[1].packets = 42;
    const Json j = api::services_json(m, fronts, figures);
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 4u);
    for (const auto& e : j)
        for (const char* key : {"namespace", "name", "vip", "port", "protocol", "endpoints", "flows", "packets"})
            EXPECT_TRUE(e.contains(key)) << key << " missing in " << e.dump();
    EXPECT_EQ(j[0]["protocol"], "UDP");
    EXPECT_EQ(j[0]["vip"], "10.96.0.53");
    EXPECT_TRUE(j[0]["flows"].is_null()) << "a figure nobody measured is null, not 0";
    EXPECT_EQ(j[1]["name"], "web");
    EXPECT_EQ(j[1]["vip"], "10.96.0.10");
    EXPECT_EQ(j[1]["port"], 80);
    EXPECT_EQ(j[1]["protocol"], "TCP");
    EXPECT_EQ(j[1]["endpoints"], Json::array({"10.244.1.10:8080"}));
    EXPECT_EQ(j[1]["endpoints_not_ready"], Json::array({"10.244.1.11:8080"}));
    EXPECT_EQ(j[1]["flows"], 3);
    EXPECT_EQ(j[1]["packets"], 42);
    EXPECT_EQ(j[2]["kind"], "LoadBalancerIP");
    EXPECT_EQ(j[3]["kind"], "NodePort");
    EXPECT_EQ(j[3]["vip"], "192.0.2.1");
    EXPECT_EQ(j[3]["port"], 30080);
}

TEST(ApiAnswers, StatusNamesPathReloadsAndSize) {
    api::DaemonStatus d;
    d.config_path = "/etc/nfgate/gateway.yaml";
    d.last_reload = "rejected";
    d.last_reload_error = "x.yaml:3: Service a/b: spec.ports: bad";
    d.reloads_rejected = 1;
    const Json j = api::status_json(d, two_services());
    EXPECT_EQ(j["dataplane"], "kernel");
    EXPECT_EQ(j["config"], "/etc/nfgate/gateway.yaml");
    EXPECT_EQ(j["last_reload"]["result"], "rejected");
    EXPECT_EQ(j["reloads"]["rejected"], 1);
    EXPECT_EQ(j["services"], 2);
    EXPECT_EQ(j["endpoints"], 3);
    EXPECT_TRUE(j["workers"].is_null()) << "the kernel path has no workers";
}

TrackedFlow flow(const char* client, uint16_t cport, const char* vip, uint16_t vport, const char* backend,
                 uint16_t bport, const char* snat = nullptr) {
    TrackedFlow f;
    f.proto = 6;
    f.orig = {ip(client), ip(vip), cport, vport};
    f.reply = {ip(backend), snat ? ip(snat) : ip(client), bport, cport};
    f.state = "ESTABLISHED";
    return f;
}

TEST(ApiAnswers, FlowListingMapsFlowsToServicesAndFilters) {
    const Model m = two_services();
    const auto fronts = frontends(m);
    const std::vector<TrackedFlow> flows = {
        flow("203.0.113.9", 40000, "10.96.0.10", 80, "10.244.1.10", 8080, "10.244.0.1"),
        flow("10.244.3.3", 40001, "10.96.0.10", 80, "10.244.1.11", 8080),
        flow("10.244.3.3", 40002, "10.1.2.3", 443, "10.1.2.3", 443),  // not a Service: left out
        flow("203.0.113.9", 40003, "192.0.2.1", 30080, "10.244.1.10", 8080, "10.244.0.1"),
    };
    auto list = [&](const api::FlowFilter& f) {
        api::FlowListing l(m, fronts, f, true);
        for (const auto& fl : flows)
            if (!l.add(fl)) break;
        return l.take();
    };
    Json all = list({});
    ASSERT_EQ(all["flows"].size(), 3u);
    EXPECT_EQ(all["truncated"], false);
    EXPECT_EQ(all["flows"][0]["service"], "lab/web");
    EXPECT_EQ(all["flows"][0]["backend"], "10.244.1.10:8080");
    EXPECT_EQ(all["flows"][0]["snat"], "10.244.0.1:40000");
    EXPECT_TRUE(all["flows"][1]["snat"].is_null()) << "a pod client keeps its address";
    EXPECT_EQ(all["flows"][2]["frontend"], "192.0.2.1:30080");

    api::FlowFilter by_endpoint;
    by_endpoint.endpoint_ip = ip("10.244.1.11");
    EXPECT_EQ(list(by_endpoint)["flows"].size(), 1u);
    api::FlowFilter by_client;
    by_client.client_ip = ip("203.0.113.9");
    EXPECT_EQ(list(by_client)["flows"].size(), 2u);
    api::FlowFilter by_service;
    by_service.service = "kube-system/dns";
    EXPECT_EQ(list(by_service)["flows"].size(), 0u);
    api::FlowFilter limited;
    limited.limit = 2;
    Json cut = list(limited);
    EXPECT_EQ(cut["flows"].size(), 2u);
    EXPECT_EQ(cut["truncated"], true);
}

TEST(ApiAnswers, FlowFilterArgumentsAreChecked) {
    api::FlowFilter f;
    std::string err;
    EXPECT_TRUE(api::parse_flow_filter(Json{{"service", "lab/web"}, {"endpoint", "10.244.1.10:8080"}, {"limit", 5}}, f, err));
    EXPECT_EQ(f.service, "lab/web");
    EXPECT_EQ(*f.endpoint_port, 8080);
    EXPECT_EQ(f.limit, 5u);
    EXPECT_FALSE(api::parse_flow_filter(Json{{"service", "web"}}, f, err));
    EXPECT_NE(err.find("NAMESPACE/NAME"), std::string::npos) << err;
    EXPECT_FALSE(api::parse_flow_filter(Json{{"endpoint", "10.244.1.10:99999"}}, f, err));
    EXPECT_FALSE(api::parse_flow_filter(Json{{"limit", -1}}, f, err));
}

Ip6 ip6(const char* s) {
    Ip6 v;
    EXPECT_TRUE(parse_ipv6(s, v)) << s;
    return v;
}

// two_services() with web dual-stack: an IPv6 ClusterIP and LB IP, IPv6 endpoints, and an IPv6
// node address for its NodePort.
Model dual_stack_services() {
    Model m = two_services();
    m.node_addresses6 = {ip6("2001:db8:1::1")};
    Service& web = m.services[1];
    web.cluster_ips6 = {ip6("fd00:96::10")};
    web.lb_ips6 = {ip6("2001:db8:7::7")};
    web.ports[0].endpoints6 = {{ip6("fd00:244:1::10"), 8080, true}, {ip6("fd00:244:1::11"), 8080, false}};
    return m;
}

TEST(ApiAnswers, ServicesListIpv6FrontendsBesideTheIpv4Ones) {
    const Model m = dual_stack_services();
    EXPECT_EQ(frontends(m).size(), 4u) << "frontends() stays IPv4: the IPv4 rules and counters are keyed by it";
    const auto fronts = all_frontends(m);
    ASSERT_EQ(fronts.size(), 7u);  // dns ClusterIP; web's three IPv4 ones, then its three IPv6 ones
    EXPECT_FALSE(fronts[3].ipv6);
    EXPECT_TRUE(fronts[4].ipv6 && fronts[5].ipv6 && fronts[6].ipv6);
    std::vector<api::FrontendFigures> figures(fronts.size());
    figures[4].flows = 2;
    const Json j = api::services_json(m, fronts, figures);
    ASSERT_EQ(j.size(), 7u);
    for (const auto& e : j)
        for (const char* key : {"namespace", "name", "vip", "port", "protocol", "endpoints", "flows", "packets"})
            EXPECT_TRUE(e.contains(key)) << key << " missing in " << e.dump();
    EXPECT_EQ(j[1]["endpoints"], Json::array({"10.244.1.10:8080"})) << "the IPv4 frontend keeps the IPv4 endpoints";
    EXPECT_EQ(j[4]["name"], "web");
    EXPECT_EQ(j[4]["kind"], "ClusterIP");
    EXPECT_EQ(j[4]["vip"], "fd00:96::10");
    EXPECT_EQ(j[4]["port"], 80);
    EXPECT_EQ(j[4]["endpoints"], Json::array({"[fd00:244:1::10]:8080"}));
    EXPECT_EQ(j[4]["endpoints_not_ready"], Json::array({"[fd00:244:1::11]:8080"}));
    EXPECT_EQ(j[4]["flows"], 2);
    EXPECT_TRUE(j[4]["packets"].is_null()) << "no per-frontend traffic for IPv6: null, not 0";
    EXPECT_EQ(j[5]["kind"], "LoadBalancerIP");
    EXPECT_EQ(j[5]["vip"], "2001:db8:7::7");
    EXPECT_EQ(j[6]["kind"], "NodePort");
    EXPECT_EQ(j[6]["vip"], "2001:db8:1::1");
    EXPECT_EQ(j[6]["port"], 30080);
}

TrackedFlow flow6(const char* client, uint16_t cport, const char* vip, uint16_t vport, const char* backend,
                  uint16_t bport, const char* snat = nullptr) {
    TrackedFlow f;
    f.proto = 6;
    f.ipv6 = true;
    f.orig.src6 = ip6(client);
    f.orig.dst6 = ip6(vip);
    f.orig.sport = cport;
    f.orig.dport = vport;
    f.reply.src6 = ip6(backend);
    f.reply.dst6 = ip6(snat ? snat : client);
    f.reply.sport = bport;
    f.reply.dport = cport;
    f.state = "ESTABLISHED";
    return f;
}

TEST(ApiAnswers, FrontendIndexFindsFlowsOfEitherFamily) {
    const Model m = dual_stack_services();
    const auto fronts = all_frontends(m);
    const api::FrontendIndex index(m, fronts);
    EXPECT_EQ(index.find(flow("203.0.113.9", 40000, "10.96.0.10", 80, "10.244.1.10", 8080)), 1);
    EXPECT_EQ(index.find(flow6("2001:db8:9::9", 40000, "fd00:96::10", 80, "fd00:244:1::10", 8080)), 4);
    EXPECT_EQ(index.find(flow6("2001:db8:9::9", 40000, "2001:db8:1::1", 30080, "fd00:244:1::10", 8080)), 6);
    EXPECT_EQ(index.find(flow6("2001:db8:9::9", 40000, "fd00:96::10", 81, "fd00:244:1::10", 8080)), -1);
    TrackedFlow udp = flow6("2001:db8:9::9", 40000, "fd00:96::10", 80, "fd00:244:1::10", 8080);
    udp.proto = 17;
    EXPECT_EQ(index.find(udp), -1) << "the protocol is part of the frontend";
    // An IPv6 flow whose address bytes read as an IPv4 frontend's is still IPv6.
    TrackedFlow confusable = flow6("::1", 40000, "::a60:a", 80, "::1", 8080);
    confusable.orig.dst = ip("10.96.0.10");
    EXPECT_EQ(index.find(confusable), -1);
}

TEST(ApiAnswers, FlowListingShowsIpv6FlowsUnderTheirService) {
    const Model m = dual_stack_services();
    const auto fronts = all_frontends(m);
    const std::vector<TrackedFlow> flows = {
        flow("203.0.113.9", 40000, "10.96.0.10", 80, "10.244.1.10", 8080, "10.244.0.1"),
        flow6("2001:db8:9::9", 40001, "fd00:96::10", 80, "fd00:244:1::10", 8080, "fd00:244::1"),
        flow6("fd00:244:3::3", 40002, "2001:db8:7::7", 80, "fd00:244:1::11", 8080),
        flow6("fd00:244:3::3", 40003, "2001:db8:ff::1", 443, "2001:db8:ff::1", 443),  // not a Service
    };
    auto list = [&](const api::FlowFilter& f) {
        api::FlowListing l(m, fronts, f, true);
        for (const auto& fl : flows)
            if (!l.add(fl)) break;
        return l.take();
    };
    const Json all = list({});
    ASSERT_EQ(all["flows"].size(), 3u) << all.dump();
    const Json& v6 = all["flows"][1];
    EXPECT_EQ(v6["service"], "lab/web");
    EXPECT_EQ(v6["port_name"], "http");
    EXPECT_EQ(v6["protocol"], "TCP");
    EXPECT_EQ(v6["client"], "[2001:db8:9::9]:40001");
    EXPECT_EQ(v6["frontend"], "[fd00:96::10]:80");
    EXPECT_EQ(v6["backend"], "[fd00:244:1::10]:8080");
    EXPECT_EQ(v6["snat"], "[fd00:244::1]:40001");
    EXPECT_EQ(v6["original"], (Json{{"src", "[2001:db8:9::9]:40001"}, {"dst", "[fd00:96::10]:80"}}));
    EXPECT_EQ(v6["reply"], (Json{{"src", "[fd00:244:1::10]:8080"}, {"dst", "[fd00:244::1]:40001"}}));
    EXPECT_TRUE(all["flows"][2]["snat"].is_null()) << "a pod client keeps its IPv6 address";
    EXPECT_EQ(all["flows"][2]["frontend"], "[2001:db8:7::7]:80");
    // The same keys as an IPv4 flow: scripts read both the same way.
    std::vector<std::string> keys4, keys6;
    for (auto it = all["flows"][0].begin(); it != all["flows"][0].end(); ++it) keys4.push_back(it.key());
    for (auto it = v6.begin(); it != v6.end(); ++it) keys6.push_back(it.key());
    EXPECT_EQ(keys4, keys6);

    api::FlowFilter by_endpoint;
    by_endpoint.endpoint_ip6 = ip6("fd00:244:1::11");
    ASSERT_EQ(list(by_endpoint)["flows"].size(), 1u);
    EXPECT_EQ(list(by_endpoint)["flows"][0]["client"], "[fd00:244:3::3]:40002");
    by_endpoint.endpoint_port = 9090;
    EXPECT_EQ(list(by_endpoint)["flows"].size(), 0u);
    api::FlowFilter by_client;
    by_client.client_ip6 = ip6("2001:db8:9::9");
    EXPECT_EQ(list(by_client)["flows"].size(), 1u);
    api::FlowFilter by_client4;
    by_client4.client_ip = ip("203.0.113.9");
    EXPECT_EQ(list(by_client4)["flows"].size(), 1u) << "an IPv4 client keeps only IPv4 flows";
    api::FlowFilter by_service;
    by_service.service = "lab/web";
    EXPECT_EQ(list(by_service)["flows"].size(), 3u);
    by_service.service = "kube-system/dns";
    EXPECT_EQ(list(by_service)["flows"].size(), 0u);
    api::FlowListing everything(m, fronts, {}, false);
    for (const auto& fl : flows) everything.add(fl);
    const Json unattributed = everything.take()["flows"][3];
    EXPECT_TRUE(unattributed["service"].is_null());
    EXPECT_EQ(unattributed["frontend"], "[2001:db8:ff::1]:443");
}

TEST(ApiAnswers, FlowListingNamesIcmpv6Echo) {
    const Model m = dual_stack_services();
    const auto fronts = all_frontends(m);
    TrackedFlow ping = flow6("2001:db8:9::9", 7, "2001:db8:ff::1", 7, "2001:db8:ff::1", 7);
    ping.proto = 58;
    ping.state = "REPLIED";
    api::FlowListing l(m, fronts, {}, false);
    l.add(ping);
    const Json j = l.take();
    ASSERT_EQ(j["flows"].size(), 1u);
    EXPECT_EQ(j["flows"][0]["protocol"], "ICMPv6");
    EXPECT_EQ(j["flows"][0]["client"], "[2001:db8:9::9]:7");
}

TEST(ApiAnswers, FlowFilterTakesIpv6Addresses) {
    api::FlowFilter f;
    std::string err;
    ASSERT_TRUE(api::parse_flow_filter(Json{{"endpoint", "[fd00:244:1::10]:8080"}, {"client", "2001:db8:9::9"}}, f, err))
        << err;
    EXPECT_EQ(*f.endpoint_ip6, ip6("fd00:244:1::10"));
    EXPECT_EQ(*f.endpoint_port, 8080);
    EXPECT_FALSE(f.endpoint_ip);
    EXPECT_EQ(*f.client_ip6, ip6("2001:db8:9::9"));
    EXPECT_FALSE(f.client_ip);
    ASSERT_TRUE(api::parse_flow_filter(Json{{"endpoint", "fd00:244:1::10"}}, f, err)) << err;
    EXPECT_EQ(*f.endpoint_ip6, ip6("fd00:244:1::10"));
    EXPECT_FALSE(f.endpoint_port);
    ASSERT_TRUE(api::parse_flow_filter(Json{{"endpoint", "[::1]"}}, f, err)) << err;
    EXPECT_EQ(*f.endpoint_ip6, ip6("::1"));
    ASSERT_TRUE(api::parse_flow_filter(Json{{"endpoint", "10.244.1.10:8080"}}, f, err)) << err;
    EXPECT_EQ(*f.endpoint_ip, ip("10.244.1.10"));
    EXPECT_FALSE(f.endpoint_ip6);
    for (const char* bad : {"[fd00::1]:99999", "[fd00::1", "[fd00::1]8080", "fd00::1::2", "[10.0.0.1]:80", "[fd00::1]:"}) {
        EXPECT_FALSE(api::parse_flow_filter(Json{{"endpoint", bad}}, f, err)) << bad;
        EXPECT_NE(err.find("[IPV6]:PORT"), std::string::npos) << err;
    }
    EXPECT_FALSE(api::parse_flow_filter(Json{{"client", "fd00::zz"}}, f, err));
    EXPECT_NE(err.find("IPv6"), std::string::npos) << err;
}

class SocketDir : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("nfgate-api-test-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        path_ = (dir_ / "run" / "nfgate.sock").string();
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
    std::string path_;
};

// Answers one request on `l` from another thread's call().
Json round_trip(const api::ApiListener& l, const std::string& path, const Json& request, api::CallStatus& status) {
    Json answer;
    std::string err;
    std::thread client([&] { status = api::call(path, request, answer, err, 5000); });
    pollfd p{l.fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 5000), 1);
    l.serve_pending([](const Json& req, std::unique_ptr<api::Reply>&) { return api::answer_ok(Json{{"echo", req["command"]}}); });
    client.join();
    return answer;
}

TEST_F(SocketDir, ListenerIsCreatedPrivateAndAnswers) {
    api::ApiListener l;
    std::string err;
    ASSERT_TRUE(l.open(path_, err)) << err;
    struct stat st;
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    api::CallStatus status;
    Json a = round_trip(l, path_, Json{{"command", "status"}}, status);
    EXPECT_EQ(status, api::CallStatus::ok);
    EXPECT_EQ(a["ok"], true);
    EXPECT_EQ(a["result"]["echo"], "status");
    l.close();
    EXPECT_FALSE(std::filesystem::exists(path_)) << "close removes the socket";
    Json none;
    EXPECT_EQ(api::call(path_, Json{{"command", "status"}}, none, err), api::CallStatus::unreachable);
}

TEST_F(SocketDir, LiveSocketIsRefusedStaleOneReplacedOtherFilesKept) {
    api::ApiListener first;
    std::string err;
    ASSERT_TRUE(first.open(path_, err)) << err;
    api::ApiListener second;
    EXPECT_FALSE(second.open(path_, err));
    EXPECT_NE(err.find("in use"), std::string::npos) << err;

    first.close();
    // A daemon killed with -9 leaves its socket file behind with nothing listening on it.
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0);
        ::close(fd);
    }
    ASSERT_TRUE(std::filesystem::exists(path_));
    ASSERT_TRUE(second.open(path_, err)) << "a stale socket is replaced: " << err;
    second.close();

    std::ofstream(path_) << "not a socket";
    api::ApiListener third;
    EXPECT_FALSE(third.open(path_, err));
    EXPECT_NE(err.find("not a socket"), std::string::npos) << err;
    EXPECT_TRUE(std::filesystem::exists(path_)) << "a file that is not a socket is never removed";
}

TEST(ApiAnswers, TraceTakesEitherFamilyButNotAMixedPair) {
    TracePacket p;
    std::string err;
    ASSERT_TRUE(api::parse_trace_args(Json{{"protocol", "tcp"}, {"source", "198.51.100.7:40000"},
                                           {"destination", "10.96.0.10:80"}}, p, err)) << err;
    EXPECT_FALSE(p.ipv6);
    EXPECT_EQ(p.src, ip("198.51.100.7"));
    EXPECT_EQ(p.dport, 80);
    ASSERT_TRUE(api::parse_trace_args(Json{{"protocol", "udp"}, {"source", "[2001:db8::7]:40000"},
                                           {"destination", "[fd00:10:96::1]:53"}}, p, err)) << err;
    EXPECT_TRUE(p.ipv6);
    EXPECT_EQ(p.proto, 17);
    EXPECT_EQ(p.src6, ip6("2001:db8::7"));
    EXPECT_EQ(p.dst6, ip6("fd00:10:96::1"));
    EXPECT_EQ(p.sport, 40000);
    EXPECT_EQ(p.dport, 53);
    EXPECT_EQ(p.src, 0u);

    TracePacket refused;
    EXPECT_FALSE(api::parse_trace_args(Json{{"protocol", "tcp"}, {"source", "[2001:db8::7]:40000"},
                                            {"destination", "10.96.0.10:80"}}, refused, err));
    EXPECT_NE(err.find("different families"), std::string::npos) << err;
    for (const char* bad : {"2001:db8::7", "[2001:db8::7]", "[2001:db8::7]:0", "2001:db8::7:80"}) {
        EXPECT_FALSE(api::parse_trace_args(Json{{"protocol", "tcp"}, {"source", bad}, {"destination", "[fd00::1]:80"}}, refused, err))
            << bad;
        EXPECT_NE(err.find("[ADDR]:PORT"), std::string::npos) << err;
    }

    // The answer writes IPv6 endpoints as the rest of nfgatectl does: [addr]:port.
    TraceResult r;
    r.verdict = "forward";
    r.candidates6 = {Endpoint6{ip6("fd00:10:244::1:10"), 8080}, Endpoint6{ip6("fd00:10:244::1:11"), 8080}};
    r.chosen6 = r.candidates6[1];
    r.masquerade = true;
    r.snat6 = ip6("fd00:10:244::1");
    const Json j = api::trace_json(p, "dpdk", r);
    EXPECT_EQ(j["source"], "[2001:db8::7]:40000");
    EXPECT_EQ(j["destination"], "[fd00:10:96::1]:53");
    EXPECT_EQ(j["candidates"], (Json{"[fd00:10:244::1:10]:8080", "[fd00:10:244::1:11]:8080"}));
    EXPECT_EQ(j["chosen"], "[fd00:10:244::1:11]:8080");
    EXPECT_EQ(j["snat"], "fd00:10:244::1");
}

}  // namespace
}  // namespace nfgate

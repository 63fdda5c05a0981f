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

}  // namespace
}  // namespace nfgate

// Real connections through the installed ruleset. The process moves into a private network
// namespace (the gateway) and creates one more, the pod, joined by a veth pair; everything is
// removed at the end, also when a test fails. Connections start on the gateway itself, so they
// take the nat output hook, the same services map and endpoint chains as forwarded traffic.
// Needs root; skipped otherwise.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>

#include "nft/frontend_counters.hpp"
#include "nft/kernel_path.hpp"
#include "nft/nft_render.hpp"
#include "nft/ruleset_trace.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

const std::string kPodNs = "nfgt-pod-" + std::to_string(getpid());
bool g_lab_up = false;
pid_t g_server = 0;

// Each pod address answers every connection on port 8080 with its own name, then closes.
const char* kServer =
    "import socket,threading\n"
    "def serve(a,t):\n"
    "  s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((a,8080)); s.listen(128)\n"
    "  while True:\n"
    "    c,_=s.accept(); c.sendall(t.encode()); c.close()\n"
    "for a,t in (('10.244.0.2','pod-a'),('10.244.0.3','pod-b')):\n"
    "  threading.Thread(target=serve,args=(a,t),daemon=True).start()\n"
    "threading.Event().wait()\n";

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Connects to ip:port and reads what the server says. Returns the text, or "" with `err` set
// (ECONNREFUSED for a reset, ETIMEDOUT when nothing answered within `timeout_ms`).
std::string fetch(const char* ip, uint16_t port, int timeout_ms, int& err, uint16_t sport = 0,
                  uint32_t* local_ip = nullptr) {
    err = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (sport != 0) {
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_port = htons(sport);
        bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, ip, &sa.sin_addr);
    std::string out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
        err = errno;
    } else {
        if (local_ip != nullptr) {  // the source address the kernel chose, as the nat hook saw it
            sockaddr_in me{};
            socklen_t len = sizeof me;
            getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len);
            *local_ip = ntohl(me.sin_addr.s_addr);
        }
        pollfd p{fd, POLLIN, 0};
        while (poll(&p, 1, timeout_ms) == 1) {
            char buf[64];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) {
                if (n < 0) err = errno;
                break;
            }
            out.append(buf, static_cast<size_t>(n));
        }
        if (out.empty() && err == 0) err = ETIMEDOUT;
    }
    close(fd);
    return out;
}

class Lab : public ::testing::Environment {
public:
    void SetUp() override {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) return;
        bool ok = run("ip link set lo up") == 0 && run("ip netns add " + kPodNs) == 0 &&
                  run("ip link add nfgt-gw type veth peer name nfgt-pod netns " + kPodNs) == 0 &&
                  run("ip addr add 10.244.0.1/24 dev nfgt-gw && ip link set nfgt-gw up") == 0 &&
                  run("ip netns exec " + kPodNs + " sh -c 'ip link set lo up && ip link set nfgt-pod up && "
                      "ip addr add 10.244.0.2/24 dev nfgt-pod && ip addr add 10.244.0.3/24 dev nfgt-pod && "
                      "ip route add 10.96.0.0/12 via 10.244.0.1'") == 0 &&
                  run("sysctl -w net.ipv4.ip_forward=1") == 0;
        if (!ok) return;
        g_server = fork();
        if (g_server == 0) {
            execlp("ip", "ip", "netns", "exec", kPodNs.c_str(), "python3", "-c", kServer, nullptr);
            _exit(127);
        }
        for (int i = 0; i < 100 && !g_lab_up; ++i) {
            int err;
            g_lab_up = fetch("10.244.0.3", 8080, 200, err) == "pod-b";
            if (!g_lab_up) usleep(50000);
        }
    }
    void TearDown() override {
        if (g_server > 0) kill(g_server, SIGTERM);
        run("ip netns pids " + kPodNs + " | xargs -r kill");
        run("ip netns del " + kPodNs);
        std::string err;
        KernelPath::cleanup(err);
    }
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new Lab);

Model lab_model() {
    Model m = testing::base_model();
    m.node_addresses = {testing::ip("10.244.0.1")};
    auto service = [](const char* name, const char* vip, std::vector<Endpoint> eps) {
        Service s;
        s.ns = "lab";
        s.name = name;
        s.cluster_ips = {testing::ip(vip)};
        ServicePort p;
        p.port = 80;
        p.endpoints = std::move(eps);
        s.ports = {p};
        return s;
    };
    Service sticky = service("sticky", "10.96.0.40", {testing::ep("10.244.0.2", 8080), testing::ep("10.244.0.3", 8080)});
    sticky.affinity_client_ip = true;
    sticky.affinity_timeout_s = 60;
    m.services = {service("both", "10.96.0.20", {testing::ep("10.244.0.2", 8080), testing::ep("10.244.0.3", 8080)}),
                  service("empty", "10.96.0.30", {testing::ep("10.244.0.2", 8080, false)}),
                  service("one", "10.96.0.10", {testing::ep("10.244.0.2", 8080)}), sticky};
    return m;
}

class Traffic : public ::testing::Test {
protected:
    void SetUp() override {
        if (!g_lab_up) GTEST_SKIP() << "needs root and python3 to build the namespace lab";
    }
};

TEST_F(Traffic, VipReachesItsEndpointAndAnEndpointChangeTakesEffect) {
    KernelPath kp;
    std::string err;
    Model m = lab_model();
    ASSERT_TRUE(kp.apply(m, err)) << err;
    int e;
    EXPECT_EQ(fetch("10.96.0.10", 80, 2000, e), "pod-a") << "errno " << e;
    for (auto& s : m.services)
        if (s.name == "one") s.ports[0].endpoints = {testing::ep("10.244.0.3", 8080)};
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_EQ(fetch("10.96.0.10", 80, 2000, e), "pod-b") << "errno " << e;
}

// The ruleset's element counters: connections per frontend from the nat hook's map, packets and
// bytes of both directions from the filter hooks; the running totals survive the element being
// re-created (the Service losing and regaining its endpoints).
TEST_F(Traffic, FrontendCountersCountConnectionsAndBothDirections) {
    KernelPath kp;
    std::string err;
    Model m = lab_model();
    ASSERT_TRUE(kp.apply(m, err)) << err;
    KernelTraffic traffic;
    auto frontend = [&](std::vector<FrontendTraffic>& all, uint32_t ip, bool conns) {
        FrontendTraffic sum;
        for (const auto& t : all)
            if (t.ip == ip && t.port == 80 && t.proto == Proto::tcp && t.connections.has_value() == conns) {
                if (t.connections) sum.connections = t.connections;
                if (t.packets) sum.packets = t.packets, sum.bytes = t.bytes;
            }
        return sum;
    };
    std::vector<FrontendTraffic> before;
    ASSERT_TRUE(traffic.read(before, err)) << err;
    for (int i = 0; i < 3; ++i) {
        int e;
        EXPECT_EQ(fetch("10.96.0.10", 80, 2000, e), "pod-a") << "errno " << e;
    }
    std::vector<FrontendTraffic> after;
    ASSERT_TRUE(traffic.read(after, err)) << err;
    const uint32_t one = testing::ip("10.96.0.10");
    const FrontendTraffic c = frontend(after, one, true), p = frontend(after, one, false);
    ASSERT_TRUE(c.connections && p.packets && p.bytes);
    EXPECT_EQ(*c.connections, 3u);
    // Per connection at least SYN, SYN-ACK, ACK, the 5-byte answer, FINs both ways.
    EXPECT_GE(*p.packets, 3u * 6);
    EXPECT_GE(*p.bytes, *p.packets * 40);
    EXPECT_FALSE(frontend(after, testing::ip("10.96.0.20"), false).packets.value_or(0))
        << "a frontend nobody called counts nothing";

    // Endpoints gone and back: the elements are new, the totals keep growing.
    for (auto& s : m.services)
        if (s.name == "one") s.ports[0].endpoints[0].ready = false;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    ASSERT_TRUE(traffic.read(after, err)) << err;
    for (auto& s : m.services)
        if (s.name == "one") s.ports[0].endpoints[0].ready = true;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    int e;
    EXPECT_EQ(fetch("10.96.0.10", 80, 2000, e), "pod-a") << "errno " << e;
    std::vector<FrontendTraffic> last;
    ASSERT_TRUE(traffic.read(last, err)) << err;
    EXPECT_EQ(frontend(last, one, true).connections.value_or(0), 4u);
    EXPECT_GT(frontend(last, one, false).packets.value_or(0), *p.packets);
}

TEST_F(Traffic, ConnectionsSpreadOverBothEndpoints) {
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(lab_model(), err)) << err;
    std::map<std::string, int> seen;
    for (int i = 0; i < 60; ++i) {
        int e;
        ++seen[fetch("10.96.0.20", 80, 500, e)];
    }
    // Each side gets 1/2; fewer than 10 of 60 happens with probability < 1e-5.
    EXPECT_GE(seen["pod-a"], 10);
    EXPECT_GE(seen["pod-b"], 10);
    EXPECT_EQ(seen["pod-a"] + seen["pod-b"], 60);
}

// The endpoint is a hash of the client's address and port with a fixed seed: a table written
// afresh (another gateway, or this one after a restart) sends the same client port to the same
// endpoint, which is what lets a gateway that takes a connection over mid-stream keep it.
TEST_F(Traffic, EveryGatewayPicksTheSameEndpointForAClientPort) {
    std::map<uint16_t, std::string> first;
    std::map<std::string, int> seen;
    std::string err;
    {
        KernelPath kp;
        ASSERT_TRUE(kp.apply(lab_model(), err)) << err;
        for (uint16_t sport = 41000; sport < 41020; ++sport) {
            int e;
            first[sport] = fetch("10.96.0.20", 80, 1000, e, sport);
            ++seen[first[sport]];
        }
    }
    EXPECT_GE(seen["pod-a"], 1);
    EXPECT_GE(seen["pod-b"], 1);
    ASSERT_EQ(run("conntrack -F"), 0);
    ASSERT_TRUE(KernelPath::cleanup(err)) << err;
    KernelPath other;
    ASSERT_TRUE(other.apply(lab_model(), err)) << err;
    const Model m = lab_model();
    const Ruleset rs = render(m);
    for (const auto& [sport, pod] : first) {
        int e;
        uint32_t local = 0;
        EXPECT_EQ(fetch("10.96.0.20", 80, 1000, e, sport, &local), pod) << "client port " << sport;
        // `nfgatectl trace` names the same endpoint: its hash is the kernel's.
        const TraceResult t = trace_ruleset(m, rs, TracePacket{6, local, testing::ip("10.96.0.20"), sport, 80});
        ASSERT_TRUE(t.chosen) << "client port " << sport;
        EXPECT_EQ(t.chosen->ip == testing::ip("10.244.0.2") ? "pod-a" : "pod-b", pod) << "client port " << sport;
    }
}

TEST_F(Traffic, ClientIpAffinityPinsTheClient) {
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(lab_model(), err)) << err;
    std::map<std::string, int> seen;
    for (int i = 0; i < 20; ++i) {
        int e;
        ++seen[fetch("10.96.0.40", 80, 500, e)];
    }
    ASSERT_EQ(seen.size(), 1u) << "every connection of one client goes to one endpoint";
    EXPECT_NE(seen.begin()->first, "");
}

// What the kernel holds in a map of the ip nfgate table, as `nft list map` prints it.
std::string map_listing(const std::string& map) {
    std::string out;
    if (FILE* f = popen(("nft list map ip nfgate " + map + " 2>&1").c_str(), "r")) {
        char buf[256];
        while (fgets(buf, sizeof buf, f)) out += buf;
        pclose(f);
    }
    return out;
}

// kube-proxy's affinity: an endpoint change keeps a pinned client on its endpoint while that
// endpoint stays, and moves it, for good, once the endpoint leaves.
TEST_F(Traffic, ClientIpAffinityOutlivesAnEndpointChangeButNotItsEndpoint) {
    KernelPath kp;
    std::string err;
    Model m = lab_model();
    Service& sticky = m.services.back();
    ASSERT_EQ(sticky.name, "sticky");
    ASSERT_TRUE(kp.apply(m, err)) << err;
    int e;
    const std::string pinned = fetch("10.96.0.40", 80, 1000, e);
    ASSERT_TRUE(pinned == "pod-a" || pinned == "pod-b") << "errno " << e;
    const std::string pinned_ip = pinned == "pod-a" ? "10.244.0.2" : "10.244.0.3";
    const std::string other_ip = pinned == "pod-a" ? "10.244.0.3" : "10.244.0.2";
    const std::string other = pinned == "pod-a" ? "pod-b" : "pod-a";
    const std::string map = affinity_map_name(sticky, sticky.ports[0], 60);
    ASSERT_NE(map_listing(map).find(pinned_ip + " . 8080"), std::string::npos) << map_listing(map);

    // A third endpoint (nobody listens there): the map and the pin stay.
    sticky.ports[0].endpoints.push_back(testing::ep(other_ip.c_str(), 8081));
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_NE(map_listing(map).find(pinned_ip + " . 8080"), std::string::npos) << map_listing(map);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(fetch("10.96.0.40", 80, 1000, e), pinned) << "connection " << i;

    // The pinned endpoint leaves: its pin goes with it, and the client is pinned anew.
    sticky.ports[0].endpoints = {testing::ep(other_ip.c_str(), 8080)};
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_EQ(map_listing(map).find(pinned_ip + " . 8080"), std::string::npos) << map_listing(map);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(fetch("10.96.0.40", 80, 1000, e), other) << "connection " << i;
    EXPECT_NE(map_listing(map).find(other_ip + " . 8080"), std::string::npos) << map_listing(map);
}

// Connects from inside the pod namespace, from `src`, and returns what the server said ("" when
// nothing came back within two seconds).
std::string fetch_from_pod(const char* src, const char* ip, uint16_t port) {
    std::string cmd = "ip netns exec " + kPodNs + " python3 -c \"import socket\n"
                      "s=socket.socket(); s.settimeout(2); s.bind(('" + std::string(src) + "',0))\n"
                      "try:\n  s.connect(('" + ip + "'," + std::to_string(port) + ")); print(s.recv(64).decode())\n"
                      "except OSError: pass\n\" 2>/dev/null";
    std::string out;
    if (FILE* f = popen(cmd.c_str(), "r")) {
        char buf[128];
        while (fgets(buf, sizeof buf, f)) out += buf;
        pclose(f);
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

// A pod calling its own Service, balanced to itself: without masquerade the packet would come
// back with the pod's own source address and the pod would drop it.
TEST_F(Traffic, PodReachesItselfThroughItsOwnService) {
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(lab_model(), err)) << err;
    EXPECT_EQ(fetch_from_pod("10.244.0.2", "10.96.0.10", 80), "pod-a") << "pod-a -> its own Service -> pod-a";
}

TEST_F(Traffic, ServiceWithoutReadyEndpointsRefusesAtOnce) {
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(lab_model(), err)) << err;
    int e;
    EXPECT_EQ(fetch("10.96.0.30", 80, 2000, e), "");
    EXPECT_EQ(e, ECONNREFUSED) << "a TCP reset, not a timeout";
    EXPECT_EQ(fetch("10.96.0.10", 81, 2000, e), "");
    EXPECT_EQ(e, ECONNREFUSED) << "a ClusterIP on a port it does not serve is rejected too";
}

}  // namespace
}  // namespace nfgate::nft

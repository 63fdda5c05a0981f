// Real IPv6 connections through the `ip6 nfgate` table the kernel path writes for the IPv6
// half of a dual-stack model. As test_kernel_traffic.cpp: the process moves into a private
// network namespace (the gateway) joined to one more, the pod, by a veth pair carrying both
// families; connections start on the gateway itself (the nat output hook) or in the pod.
// Needs root and python3; skipped otherwise. Everything is removed at the end.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "nft/conntrack_dump.hpp"
#include "nft/flood_figures.hpp"
#include "nft/frontend_counters.hpp"
#include "nft/kernel_path.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

const std::string kPodNs = "nfgt-pod6-" + std::to_string(getpid());
bool g_lab_up = false;
pid_t g_server = 0;

// Each pod address answers every connection on port 8080 with its own name, then closes.
const char* kServer =
    "import socket,threading\n"
    "def serve(f,a,t):\n"
    "  s=socket.socket(f); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((a,8080)); s.listen(128)\n"
    "  while True:\n"
    "    c,_=s.accept(); c.sendall(t.encode()); c.close()\n"
    "for f,a,t in ((socket.AF_INET6,'fd00:10:244::2','pod-a'),(socket.AF_INET6,'fd00:10:244::3','pod-b'),\n"
    "              (socket.AF_INET,'10.244.0.2','pod-a4')):\n"
    "  threading.Thread(target=serve,args=(f,a,t),daemon=True).start()\n"
    "threading.Event().wait()\n";

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Connects to [ip]:port (from `src` inside the pod namespace when given) and returns what the
// server said, "refused" for a reset, "" when nothing came back within two seconds.
std::string fetch(const std::string& ip, uint16_t port, const std::string& src = "") {
    const bool six = ip.find(':') != std::string::npos;
    std::string py = "import socket\n"
                     "s=socket.socket(socket.AF_INET6 if " + std::string(six ? "True" : "False") + " else socket.AF_INET); s.settimeout(2)\n" +
                     (src.empty() ? "" : "s.bind(('" + src + "',0))\n") +
                     "try:\n  s.connect(('" + ip + "'," + std::to_string(port) + ")); print(s.recv(64).decode())\n"
                     "except ConnectionRefusedError: print('refused')\n"
                     "except OSError: pass\n";
    std::string cmd = (src.empty() ? "" : "ip netns exec " + kPodNs + " ") + "python3 -c \"" + py + "\" 2>/dev/null";
    std::string out;
    if (FILE* f = popen(cmd.c_str(), "r")) {
        char buf[128];
        while (fgets(buf, sizeof buf, f)) out += buf;
        pclose(f);
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

class Lab : public ::testing::Environment {
public:
    void SetUp() override {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) return;
        bool ok = run("ip link set lo up") == 0 && run("ip netns add " + kPodNs) == 0 &&
                  run("ip link add nfgt-gw type veth peer name nfgt-pod netns " + kPodNs) == 0 &&
                  run("ip addr add 10.244.0.1/24 dev nfgt-gw && ip addr add fd00:10:244::1/64 dev nfgt-gw nodad && "
                      "ip link set nfgt-gw up") == 0 &&
                  run("ip netns exec " + kPodNs + " sh -c 'ip link set lo up && ip link set nfgt-pod up && "
                      "ip addr add 10.244.0.2/24 dev nfgt-pod && "
                      "ip addr add fd00:10:244::2/64 dev nfgt-pod nodad && ip addr add fd00:10:244::3/64 dev nfgt-pod nodad && "
                      "ip route add 10.96.0.0/12 via 10.244.0.1 && ip -6 route add fd00:10:96::/112 via fd00:10:244::1'") == 0 &&
                  run("sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1") == 0;
        if (!ok) return;
        g_server = fork();
        if (g_server == 0) {
            execlp("ip", "ip", "netns", "exec", kPodNs.c_str(), "python3", "-c", kServer, nullptr);
            _exit(127);
        }
        for (int i = 0; i < 100 && !g_lab_up; ++i) {
            g_lab_up = fetch("fd00:10:244::3", 8080) == "pod-b";
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

Ip6 v6(const char* s) {
    Ip6 a;
    EXPECT_TRUE(parse_ipv6(s, a)) << s;
    return a;
}

Endpoint6 ep6(const char* ip, bool ready = true) { return Endpoint6{v6(ip), 8080, ready, ready}; }

// Dual stack: "web" answers on an IPv4 and an IPv6 ClusterIP, each from its own family's pods.
Model lab_model() {
    Model m = testing::base_model();
    m.node_addresses = {testing::ip("10.244.0.1")};
    m.node_addresses6 = {v6("fd00:10:244::1")};
    Cidr6 pods;
    EXPECT_TRUE(parse_cidr6("fd00:10:244::/64", pods));
    m.cluster_cidrs6 = {pods};
    Cidr6 services;
    EXPECT_TRUE(parse_cidr6("fd00:10:96::/112", services));
    m.service_cidrs6 = {services};
    auto service = [](const char* name, const char* vip6, std::vector<Endpoint6> eps) {
        Service s;
        s.ns = "lab";
        s.name = name;
        s.cluster_ips6 = {v6(vip6)};
        ServicePort p;
        p.port = 80;
        p.endpoints6 = std::move(eps);
        s.ports = {p};
        return s;
    };
    Service web = service("web", "fd00:10:96::20", {ep6("fd00:10:244::2"), ep6("fd00:10:244::3")});
    web.cluster_ips = {testing::ip("10.96.0.20")};
    web.ports[0].endpoints = {testing::ep("10.244.0.2", 8080)};
    Service sticky = service("sticky", "fd00:10:96::40", {ep6("fd00:10:244::2"), ep6("fd00:10:244::3")});
    sticky.affinity_client_ip = true;
    sticky.affinity_timeout_s = 60;
    m.services = {service("empty", "fd00:10:96::30", {ep6("fd00:10:244::2", false)}),
                  service("one", "fd00:10:96::10", {ep6("fd00:10:244::2")}), sticky, web};
    return m;
}

class Traffic6 : public ::testing::Test {
protected:
    void SetUp() override {
        if (!g_lab_up) GTEST_SKIP() << "needs root and python3 to build the namespace lab";
        std::string err;
        ASSERT_TRUE(kp.apply(lab_model(), err)) << err;
    }
    KernelPath kp;
};

TEST_F(Traffic6, AnIPv6ClusterIPSpreadsOverItsIPv6Endpoints) {
    std::map<std::string, int> seen;
    for (int i = 0; i < 16; ++i) ++seen[fetch("fd00:10:96::20", 80)];
    EXPECT_EQ(seen.size(), 2u) << "both pods answer";
    EXPECT_GT(seen["pod-a"], 0);
    EXPECT_GT(seen["pod-b"], 0);
    EXPECT_EQ(fetch("fd00:10:96::10", 80), "pod-a");
}

TEST_F(Traffic6, ADualStackServiceAnswersOnBothFamilies) {
    EXPECT_EQ(fetch("10.96.0.20", 80), "pod-a4") << "the IPv4 ClusterIP goes to the IPv4 endpoint";
    const std::string six = fetch("fd00:10:96::20", 80);
    EXPECT_TRUE(six == "pod-a" || six == "pod-b") << six;
}

TEST_F(Traffic6, ClientIpAffinityPinsAnIPv6Client) {
    std::map<std::string, int> seen;
    for (int i = 0; i < 12; ++i) ++seen[fetch("fd00:10:96::40", 80)];
    ASSERT_EQ(seen.size(), 1u) << "every connection of one client goes to one endpoint";
    EXPECT_NE(seen.begin()->first, "");
}

TEST_F(Traffic6, AServiceWithoutReadyEndpointsResetsAtOnce) {
    EXPECT_EQ(fetch("fd00:10:96::30", 80), "refused");
    EXPECT_EQ(fetch("fd00:10:96::10", 81), "refused") << "a ClusterIP on a port it does not serve is rejected too";
}

TEST_F(Traffic6, APodReachesItselfThroughItsOwnService) {
    EXPECT_EQ(fetch("fd00:10:96::10", 80, "fd00:10:244::2"), "pod-a") << "hairpin: masqueraded back to the pod";
}

// `nfgatectl flows` on the kernel path reads this dump: the IPv6 connection shows with its
// IPv6 tuples (client -> ClusterIP, endpoint -> client), beside the IPv4 one in the same dump.
TEST_F(Traffic6, TheConntrackDumpListsBothFamilies) {
    ASSERT_EQ(fetch("fd00:10:96::10", 80), "pod-a");
    ASSERT_EQ(fetch("10.96.0.20", 80), "pod-a4");
    bool six = false, four = false;
    std::string err;
    ASSERT_TRUE(dump_kernel_flows([&](const TrackedFlow& f) {
        if (f.proto != 6) return true;
        // Earlier tests' connections linger (TIME_WAIT): this one is the gateway's own.
        if (f.ipv6 && f.orig.src6 == v6("fd00:10:244::1") && f.orig.dst6 == v6("fd00:10:96::10") && f.orig.dport == 80) {
            six = true;
            EXPECT_EQ(f.reply.src6, v6("fd00:10:244::2"));
            EXPECT_EQ(f.reply.sport, 8080);
            EXPECT_EQ(f.reply.dport, f.orig.sport);
            EXPECT_EQ(f.orig.src, 0u) << "an IPv6 flow has no IPv4 address";
            EXPECT_FALSE(f.state.empty());
        }
        if (!f.ipv6 && f.orig.dst == testing::ip("10.96.0.20") && f.orig.dport == 80) {
            four = true;
            EXPECT_EQ(f.reply.src, testing::ip("10.244.0.2"));
        }
        return true;
    }, err)) << err;
    EXPECT_TRUE(six) << "the IPv6 connection is listed";
    EXPECT_TRUE(four) << "the IPv4 one too";
}

// The SYN-flood figures count half-open connections to IPv6 frontends too: a SYN toward an
// endpoint nobody answers for stays in SYN_SENT.
TEST_F(Traffic6, HalfOpenConnectionsToAnIPv6FrontendAreCounted) {
    Model m = lab_model();
    Service silent = m.services[1];
    silent.name = "silent";
    silent.cluster_ips6 = {v6("fd00:10:96::50")};
    silent.ports[0].endpoints6 = {ep6("fd00:10:244::9")};
    m.services.push_back(silent);
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    FloodFigures before;
    ASSERT_TRUE(read_flood_figures(m, before, err)) << err;
    EXPECT_EQ(fetch("fd00:10:96::50", 80), "");
    FloodFigures after;
    ASSERT_TRUE(read_flood_figures(m, after, err)) << err;
    EXPECT_EQ(after.half_open, before.half_open + 1);
}

// A change to one Service takes the incremental way (only its elements change) in the ip6 table too.
TEST_F(Traffic6, AnEndpointChangeTakesEffect) {
    Model m = lab_model();
    for (Service& s : m.services)
        if (s.name == "one") s.ports[0].endpoints6 = {ep6("fd00:10:244::3")};
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_EQ(fetch("fd00:10:96::10", 80), "pod-b");
    for (Service& s : m.services)
        if (s.name == "one") s.ports[0].endpoints6.clear();
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_EQ(fetch("fd00:10:96::10", 80), "refused") << "scaled to zero: rejected";
}

// What KernelTraffic reported for one frontend: connections (the nat hook's maps), packets and
// bytes (the filter hooks' set), each from its own row. `ip` all zero: a per-port NodePort count.
struct Figures {
    uint64_t connections = 0, packets = 0, bytes = 0;
};

Figures figures_of(const std::vector<FrontendTraffic>& all, const Ip6& ip, uint16_t port) {
    Figures f;
    for (const FrontendTraffic& t : all)
        if (t.ipv6 && t.ip6 == ip && t.port == port && t.proto == Proto::tcp) {
            f.connections += t.connections.value_or(0);
            f.packets += t.packets.value_or(0);
            f.bytes += t.bytes.value_or(0);
        }
    return f;
}

// The ip6 table's element counters, read as the ip table's: new connections per IPv6 frontend,
// packets and bytes of both directions; an IPv6 NodePort's connections per port, its packets
// per node address. The IPv4 frontends' figures stay apart.
TEST_F(Traffic6, FrontendCountersCountIPv6Frontends) {
    Model m = lab_model();
    for (Service& s : m.services)
        if (s.name == "one") s.ports[0].node_port = 30080;
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    KernelTraffic traffic;
    std::vector<FrontendTraffic> before, after;
    ASSERT_TRUE(traffic.read(before, err)) << err;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(fetch("fd00:10:96::10", 80), "pod-a");
    // pod-a calling its own Service's NodePort: hairpin, masqueraded back to it.
    EXPECT_EQ(fetch("fd00:10:244::1", 30080, "fd00:10:244::2"), "pod-a");
    ASSERT_TRUE(traffic.read(after, err)) << err;

    const Ip6 vip = v6("fd00:10:96::10");
    const Figures b = figures_of(before, vip, 80), a = figures_of(after, vip, 80);
    EXPECT_EQ(a.connections - b.connections, 3u);
    // Per connection at least SYN, SYN-ACK, ACK, the 5-byte answer, FINs both ways.
    EXPECT_GE(a.packets - b.packets, 3u * 6);
    EXPECT_GE(a.bytes - b.bytes, (a.packets - b.packets) * 60) << "an IPv6 and a TCP header a packet at least";

    EXPECT_EQ(figures_of(after, Ip6{}, 30080).connections - figures_of(before, Ip6{}, 30080).connections, 1u)
        << "the NodePort's connection, counted per port";
    const Ip6 node = v6("fd00:10:244::1");
    EXPECT_GE(figures_of(after, node, 30080).packets - figures_of(before, node, 30080).packets, 6u)
        << "its packets, counted per node address";

    const Ip6 other = v6("fd00:10:96::20");
    EXPECT_EQ(figures_of(after, other, 80).packets, figures_of(before, other, 80).packets)
        << "a frontend nobody called counts nothing";
    for (const FrontendTraffic& t : after)
        EXPECT_TRUE(t.ipv6 || t.ip6.is_zero()) << "an IPv4 row carries no IPv6 address";
}

TEST_F(Traffic6, AModelWithoutAnIPv6HalfRemovesTheIp6Table) {
    Model m = lab_model();
    m.node_addresses6.clear();
    m.cluster_cidrs6.clear();
    m.service_cidrs6.clear();
    for (Service& s : m.services) s.cluster_ips6.clear();
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    EXPECT_NE(run("nft list table ip6 nfgate"), 0);
    EXPECT_EQ(fetch("10.96.0.20", 80), "pod-a4");
    // Without the ip6 table the counters are the ip table's alone, read without an error.
    KernelTraffic traffic;
    std::vector<FrontendTraffic> rows;
    ASSERT_TRUE(traffic.read(rows, err)) << err;
    EXPECT_FALSE(rows.empty());
    for (const FrontendTraffic& t : rows) EXPECT_FALSE(t.ipv6);
}

}  // namespace
}  // namespace nfgate::nft

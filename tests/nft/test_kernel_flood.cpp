// The kernel path's SYN-flood defence with real traffic. The process moves into a private network
// namespace (the gateway) and creates two more: the pod (a server on 10.244.0.2:8080) and the
// client (192.0.2.20 and .21, plus the spoofed SYN flood of tests/lab/scenarios_flood.py). Client
// sockets are opened from the client namespace by this process (setns around socket()), so the
// traffic crosses the gateway's forward path as a remote client's would. Everything is removed
// at the end, also when a test fails. Needs root and python3; skipped otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "nft/flood_figures.hpp"
#include "nft/kernel_path.hpp"
#include "nft/tcp_loose.hpp"
#include "tests/nft/fixtures.hpp"

namespace nfgate::nft {
namespace {

const std::string kPodNs = "nfgt-fpod-" + std::to_string(getpid());
const std::string kClientNs = "nfgt-fcl-" + std::to_string(getpid());
constexpr const char* kVip = "10.96.0.10";
bool g_lab_up = false;
int g_own_ns = -1, g_client_ns = -1;
std::string g_loose_at_start;

// Greets every connection with "pod\n", then echoes what it reads.
const char* kServer =
    "import socket,threading\n"
    "def echo(c):\n"
    "  c.sendall(b'pod\\n')\n"
    "  try:\n"
    "    while True:\n"
    "      d=c.recv(4096)\n"
    "      if not d: break\n"
    "      c.sendall(d)\n"
    "  except OSError: pass\n"
    "  c.close()\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('10.244.0.2',8080)); s.listen(1024)\n"
    "while True:\n"
    "  c,_=s.accept(); threading.Thread(target=echo,args=(c,),daemon=True).start()\n";

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

std::string read_file(const char* path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

uint64_t conntrack_count() { return std::stoull(read_file("/proc/sys/net/netfilter/nf_conntrack_count")); }
std::string tcp_loose() {
    std::string v = read_file("/proc/sys/net/netfilter/nf_conntrack_tcp_loose");
    while (!v.empty() && v.back() == '\n') v.pop_back();
    return v;
}
uint64_t synproxy_stat(const char* column) {
    return sum_proc_stat_column(read_file("/proc/net/stat/synproxy"), column).value_or(0);
}

// A non-blocking TCP socket of the client namespace, bound to `src`, connecting to the VIP.
int client_connect(const char* src) {
    if (setns(g_client_ns, CLONE_NEWNET) != 0) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setns(g_own_ns, CLONE_NEWNET);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, src, &local.sin_addr);
    bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(80);
    inet_pton(AF_INET, kVip, &sa.sin_addr);
    connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    return fd;
}

// Reads until `want` arrived or `timeout_ms` passed.
bool read_exactly(int fd, const std::string& want, int timeout_ms) {
    std::string got;
    pollfd p{fd, POLLIN, 0};
    while (got.size() < want.size() && poll(&p, 1, timeout_ms) == 1) {
        char buf[256];
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got == want;
}

// One whole connection: handshake through the VIP, the pod's greeting.
bool connect_and_greet(const char* src, int timeout_ms = 3000) {
    const int fd = client_connect(src);
    const bool ok = fd >= 0 && read_exactly(fd, "pod\n", timeout_ms);
    close(fd);
    return ok;
}

// How many of `fds` completed their handshake within `timeout_ms`.
size_t established(const std::vector<int>& fds, int timeout_ms) {
    usleep(static_cast<useconds_t>(timeout_ms) * 1000);
    size_t n = 0;
    for (int fd : fds) {
        pollfd p{fd, POLLOUT, 0};
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (poll(&p, 1, 0) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) ++n;
    }
    return n;
}

// `count` spoofed SYNs from 100.64.0.0/16 to the VIP, sent from the client namespace by the
// lab's flood script; returns its exit status.
pid_t start_flood(int count) {
    const std::string code = std::string("import sys; sys.path.insert(0, '") + NFGATE_LAB_DIR +
                             "'); import scenarios_flood as f; sys.argv = ['flood', '" + std::to_string(count) +
                             "', '" + kVip + "', '80']; exec(f.FLOOD_SCRIPT)";
    const pid_t pid = fork();
    if (pid == 0) {
        execlp("ip", "ip", "netns", "exec", kClientNs.c_str(), "python3", "-c", code.c_str(), nullptr);
        _exit(127);
    }
    return pid;
}
int wait_flood(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class Lab : public ::testing::Environment {
public:
    void SetUp() override {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) return;
        g_own_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        const std::string pod = "ip netns exec " + kPodNs + " ", client = "ip netns exec " + kClientNs + " ";
        bool ok = run("ip link set lo up") == 0 && run("ip netns add " + kPodNs) == 0 &&
                  run("ip netns add " + kClientNs) == 0 &&
                  run("ip link add nfgt-pod type veth peer name eth0 netns " + kPodNs) == 0 &&
                  run("ip link add nfgt-cl type veth peer name eth0 netns " + kClientNs) == 0 &&
                  run("ip addr add 10.244.0.1/24 dev nfgt-pod && ip link set nfgt-pod up") == 0 &&
                  run("ip addr add 192.0.2.1/24 dev nfgt-cl && ip link set nfgt-cl up") == 0 &&
                  run(pod + "sh -c 'ip link set lo up && ip link set eth0 up && ip addr add 10.244.0.2/24 dev eth0 && "
                            "ip route add default via 10.244.0.1'") == 0 &&
                  run(client + "sh -c 'ip link set lo up && ip link set eth0 up && ip addr add 192.0.2.20/24 dev eth0 && "
                               "ip addr add 192.0.2.21/24 dev eth0 && ip route add default via 192.0.2.1'") == 0 &&
                  run("sysctl -w net.ipv4.ip_forward=1") == 0;
        g_client_ns = open(("/var/run/netns/" + kClientNs).c_str(), O_RDONLY | O_CLOEXEC);
        if (!ok || g_own_ns < 0 || g_client_ns < 0) return;
        g_loose_at_start = tcp_loose();
        server_ = fork();
        if (server_ == 0) {
            execlp("ip", "ip", "netns", "exec", kPodNs.c_str(), "python3", "-c", kServer, nullptr);
            _exit(127);
        }
        // The server answers directly (no ruleset yet: the pod's address is routed).
        for (int i = 0; i < 100 && !g_lab_up; ++i) {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in sa{};
            sa.sin_family = AF_INET;
            sa.sin_port = htons(8080);
            inet_pton(AF_INET, "10.244.0.2", &sa.sin_addr);
            g_lab_up = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && read_exactly(fd, "pod\n", 500);
            close(fd);
            if (!g_lab_up) usleep(50000);
        }
    }
    void TearDown() override {
        if (server_ > 0) kill(server_, SIGTERM);
        for (const auto& ns : {kPodNs, kClientNs}) {
            run("ip netns pids " + ns + " | xargs -r kill");
            run("ip netns del " + ns);
        }
        std::string err;
        KernelPath::cleanup(err);
    }

private:
    pid_t server_ = 0;
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new Lab);

Model lab_model() {
    Model m = testing::base_model();
    m.node_addresses = {testing::ip("192.0.2.1")};
    Service s;
    s.ns = "lab";
    s.name = "web";
    s.cluster_ips = {testing::ip(kVip)};
    ServicePort p;
    p.port = 80;
    p.endpoints = {testing::ep("10.244.0.2", 8080)};
    s.ports = {p};
    m.services = {s};
    return m;
}

class Flood : public ::testing::Test {
protected:
    void SetUp() override {
        if (!g_lab_up) GTEST_SKIP() << "needs root and python3 to build the namespace lab";
        std::string err;
        ASSERT_TRUE(KernelPath::cleanup(err)) << err;
    }
    void TearDown() override {
        std::string err;
        if (g_lab_up) KernelPath::cleanup(err);
        std::ofstream("/proc/sys/net/netfilter/nf_conntrack_tcp_loose") << g_loose_at_start << '\n';
        run("conntrack -F");
    }
};

TEST_F(Flood, SynProxyLeavesNoEntryPerSpoofedSynAndRealClientsStillConnect) {
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(lab_model(), err)) << err;
    ASSERT_FALSE(kp.syn_proxy()) << "conntrack.synProxy auto starts off";
    // A connection established before the proxy goes on, used again at the end.
    const int held = client_connect("192.0.2.20");
    ASSERT_TRUE(read_exactly(held, "pod\n", 3000));

    ASSERT_TRUE(kp.set_syn_proxy(true, err)) << err;
    EXPECT_EQ(tcp_loose(), "0");
    const uint64_t entries_before = conntrack_count(), syns_before = synproxy_stat("syn_received");
    const pid_t flood = start_flood(5000);
    int real = 0;
    double slowest_ms = 0;
    for (int i = 0; i < 10; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        real += connect_and_greet("192.0.2.21");
        slowest_ms = std::max(slowest_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    ASSERT_EQ(wait_flood(flood), 0);
    usleep(300000);
    const uint64_t grown = conntrack_count() - entries_before;
    const uint64_t answered = synproxy_stat("syn_received") - syns_before;
    std::cout << "proxy on: 5000 spoofed SYNs, " << answered << " answered with cookies, conntrack grew by " << grown
              << ", real connections " << real << "/10 (slowest " << slowest_ms << " ms to the greeting)\n";
    EXPECT_EQ(real, 10);
    // The pod speaks first: its greeting must not wait for a retransmitted SYN-ACK (1 s).
    EXPECT_LT(slowest_ms, 500.0);
    EXPECT_GE(answered, 4000u);
    EXPECT_LE(grown, 20u) << "at most the real connections' own entries";
    EXPECT_EQ(write(held, "ping\n", 5), 5);
    EXPECT_TRUE(read_exactly(held, "ping\n", 3000)) << "the connection established before the proxy went on";
    close(held);

    ASSERT_TRUE(kp.set_syn_proxy(false, err)) << err;
    EXPECT_EQ(tcp_loose(), g_loose_at_start);
    const uint64_t off_before = conntrack_count();
    // Not more: the SYN-ACKs the pod keeps sending to spoofed clients would slow the next test.
    ASSERT_EQ(wait_flood(start_flood(3000)), 0);
    usleep(300000);
    const uint64_t off_grown = conntrack_count() - off_before;
    std::cout << "proxy off: 3000 spoofed SYNs, conntrack grew by " << off_grown << "\n";
    EXPECT_GE(off_grown, 2700u) << "without the proxy every spoofed SYN leaves an entry";
    // What the daemon's once-a-second sample costs with that many entries, and that it sees them.
    FloodFigures f;
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(read_flood_figures(lab_model(), f, err)) << err;
    std::cout << "flood figures read over " << conntrack_count() << " entries in "
              << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
              << " ms: " << f.half_open << " half-open toward the frontend\n";
    EXPECT_GE(f.half_open, 2700u);
    EXPECT_TRUE(connect_and_greet("192.0.2.21"));
}

// A daemon killed while its SYN proxy held nf_conntrack_tcp_loose at 0 cannot put it back: the
// note it left gives the next holder the value to restore, and the next start (recover) puts it back.
TEST(TcpLooseNote, AHolderKilledIsPutBackByTheNextHolderAndTheNextStart) {
    if (g_own_ns < 0) GTEST_SKIP() << "needs root (a network namespace of its own)";
    char tmpl[] = "/tmp/nfgate-loose-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    TcpLoose::set_note_dir(tmpl);
    const std::string at_start = tcp_loose();
    std::ofstream("/proc/sys/net/netfilter/nf_conntrack_tcp_loose") << "1\n";
    std::string err;
    {
        TcpLoose killed;  // goes away holding, as a kill -9 leaves it
        ASSERT_TRUE(killed.hold_strict(err)) << err;
    }
    EXPECT_EQ(tcp_loose(), "0");
    {
        TcpLoose next;
        ASSERT_TRUE(next.hold_strict(err)) << err;
        ASSERT_TRUE(next.restore(err)) << err;
        EXPECT_EQ(tcp_loose(), "1") << "the value the killed holder found, not the 0 it left";
    }
    {
        TcpLoose killed;
        ASSERT_TRUE(killed.hold_strict(err)) << err;
    }
    TcpLoose start;
    ASSERT_TRUE(start.recover(err)) << err;
    EXPECT_EQ(tcp_loose(), "1") << "the next start puts it back";
    EXPECT_TRUE(std::filesystem::is_empty(tmpl)) << "no note left behind";
    ASSERT_TRUE(start.recover(err)) << "nothing to do the second time";
    std::ofstream("/proc/sys/net/netfilter/nf_conntrack_tcp_loose") << at_start << "\n";
    TcpLoose::set_note_dir("/run/nfgate");
    std::filesystem::remove_all(tmpl);
}

TEST_F(Flood, PerSourceLimitDropsOneSourcesExcessAndCountsItWhileAnotherPasses) {
    Model m = lab_model();
    m.new_flows_per_source = 5;
    m.new_flows_per_source_burst = 5;
    KernelPath kp;
    std::string err;
    ASSERT_TRUE(kp.apply(m, err)) << err;
    const uint64_t counted_before = read_named_counter("new-flows-rate-limited", err).value_or(~0ull);
    ASSERT_EQ(counted_before, 0u) << err;

    // 30 connections at once from one source: the burst passes, the rest wait for a retransmit.
    std::vector<int> burst;
    for (int i = 0; i < 30; ++i) burst.push_back(client_connect("192.0.2.20"));
    const size_t a_ok = established(burst, 600);
    for (int fd : burst) close(fd);  // no retransmitted SYN counts against the other source
    const uint64_t counted = read_named_counter("new-flows-rate-limited", err).value_or(0);
    std::cout << "one source, 30 connections at once, 5/s burst 5: " << a_ok << " opened, " << counted
              << " SYNs dropped and counted\n";
    EXPECT_GE(a_ok, 4u);
    EXPECT_LE(a_ok, 10u);
    EXPECT_GE(counted, 30u - a_ok);

    std::vector<int> other;
    for (int i = 0; i < 5; ++i) other.push_back(client_connect("192.0.2.21"));
    EXPECT_EQ(established(other, 600), 5u) << "another source keeps its own allowance";
    for (int fd : other) close(fd);
    EXPECT_EQ(read_named_counter("new-flows-rate-limited", err).value_or(0), counted);
}

}  // namespace
}  // namespace nfgate::nft

// Short TCP connections through the gateway, with real sockets on both ends.
//
//   connbench server --port 8080
//       accepts, writes one byte and closes first (so TIME_WAIT stays on the server, whose
//       4-tuples never repeat, and the client's ports are free again at once); runs until SIGTERM.
//   connbench client --vip 10.96.0.10 --port 80 --sources 192.0.2.10,192.0.2.11 [--concurrency 128]
//                    [--seconds 2] [--max-conns 50000]
//       keeps --concurrency handshakes in flight; a connection counts as completed when the
//       server's byte and its FIN have arrived (SYN, SYN/ACK, ACK, data, FIN both ways).
// Both print one JSON line on stdout when they end.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <vector>

#include "bench/peer/peer_args.hpp"
#include "bench/peer/peer_packet.hpp"

using namespace nfgate::peer;
using Clock = std::chrono::steady_clock;

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

int run_server(const Args& args) {
    const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    check(lfd >= 0, "socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(args.num("port", 8080)));
    check(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    check(listen(lfd, 65535) == 0, "listen");
    const int ep = epoll_create1(0);
    epoll_event ev{EPOLLIN, {.fd = lfd}};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == 0, "epoll_ctl");
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::fprintf(stderr, "connbench: ready\n");
    std::fflush(stderr);
    uint64_t accepted = 0;
    const auto cpu0 = cpu_seconds();
    while (!g_stop) {
        epoll_event out;
        if (epoll_wait(ep, &out, 1, 100) <= 0) continue;
        while (true) {
            const int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
            if (fd < 0) break;
            ++accepted;
            (void)send(fd, "k", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
        }
    }
    const auto cpu1 = cpu_seconds();
    std::printf("{\"accepted\": %llu, \"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f}\n",
                static_cast<unsigned long long>(accepted), cpu1.first - cpu0.first, cpu1.second - cpu0.second);
    return 0;
}

struct ClientConfig {
    sockaddr_in target{};
    std::vector<uint32_t> sources;
    unsigned concurrency;
    double seconds;
    uint64_t max_conns;
};

// Connection latency histogram, 10 us buckets up to 1 s.
class Latency {
public:
    void add(double seconds) { ++buckets_[std::min<size_t>(static_cast<size_t>(seconds * 1e5), kBuckets - 1)]; }
    double quantile(double q) const {
        uint64_t total = 0;
        for (auto b : buckets_) total += b;
        uint64_t seen = 0;
        for (size_t i = 0; i < kBuckets; ++i) {
            seen += buckets_[i];
            if (total && seen >= q * static_cast<double>(total)) return (static_cast<double>(i) + 1) * 1e-5;
        }
        return 0;
    }

private:
    static constexpr size_t kBuckets = 100000;
    std::vector<uint64_t> buckets_ = std::vector<uint64_t>(kBuckets, 0);
};

class Client {
public:
    explicit Client(const ClientConfig& cfg) : cfg_(cfg), ep_(epoll_create1(0)) { check(ep_ >= 0, "epoll_create1"); }

    void run() {
        start_ = Clock::now();
        const auto end = start_ + std::chrono::duration<double>(cfg_.seconds);
        last_done_ = start_;
        while (!g_stop && Clock::now() < end) {
            while (in_flight_ < cfg_.concurrency && started_ < cfg_.max_conns) open_one();
            if (in_flight_ == 0) break;
            poll_events(10);
        }
        // Let what is in flight finish, so a connection is never counted by its start alone.
        const auto drain_end = Clock::now() + std::chrono::seconds(1);
        while (in_flight_ > 0 && Clock::now() < drain_end) poll_events(10);
    }

    void report(double cpu_user, double cpu_sys) const {
        const double elapsed = std::chrono::duration<double>(last_done_ - start_).count();
        std::printf("{\"completed\": %llu, \"failed\": %llu, \"unfinished\": %u, \"seconds\": %.6f, \"cps\": %.1f, "
                    "\"latency_p50_ms\": %.3f, \"latency_p99_ms\": %.3f, \"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f}\n",
                    static_cast<unsigned long long>(completed_), static_cast<unsigned long long>(failed_), in_flight_,
                    elapsed, elapsed > 0 ? completed_ / elapsed : 0.0, latency_.quantile(0.5) * 1e3,
                    latency_.quantile(0.99) * 1e3, cpu_user, cpu_sys);
    }

private:
    void open_one() {
        ++started_;
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        check(fd >= 0, "socket");
        int one = 1;
        // The port is chosen at connect() for the whole 4-tuple, not reserved by bind().
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = cfg_.sources[started_ % cfg_.sources.size()];
        check(bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0, "bind to a source address");
        if (connect(fd, reinterpret_cast<const sockaddr*>(&cfg_.target), sizeof cfg_.target) != 0 &&
            errno != EINPROGRESS) {
            ++failed_;
            close(fd);
            return;
        }
        if (static_cast<size_t>(fd) >= opened_at_.size()) opened_at_.resize(static_cast<size_t>(fd) * 2 + 1);
        opened_at_[static_cast<size_t>(fd)] = Clock::now();
        epoll_event ev{EPOLLIN | EPOLLRDHUP, {.fd = fd}};
        check(epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl");
        ++in_flight_;
    }

    void poll_events(int timeout_ms) {
        epoll_event evs[256];
        const int n = epoll_wait(ep_, evs, 256, timeout_ms);
        for (int i = 0; i < n; ++i) finish(evs[i].data.fd, evs[i].events);
    }

    void finish(int fd, uint32_t events) {
        char buf[16];
        ssize_t r;
        while ((r = recv(fd, buf, sizeof buf, 0)) > 0) {
        }
        const bool eof = r == 0;
        if (!eof && !(events & (EPOLLERR | EPOLLHUP)) && errno == EAGAIN) return;  // byte came, FIN not yet
        const auto now = Clock::now();
        if (eof && !(events & EPOLLERR)) {
            ++completed_;
            latency_.add(std::chrono::duration<double>(now - opened_at_[static_cast<size_t>(fd)]).count());
            last_done_ = now;
        } else {
            ++failed_;
        }
        close(fd);  // also leaves the epoll set
        --in_flight_;
    }

    ClientConfig cfg_;
    int ep_;
    Clock::time_point start_, last_done_;
    std::vector<Clock::time_point> opened_at_;
    unsigned in_flight_ = 0;
    uint64_t started_ = 0, completed_ = 0, failed_ = 0;
    Latency latency_;
};

int run_client(const Args& args) {
    ClientConfig cfg;
    cfg.target.sin_family = AF_INET;
    cfg.target.sin_addr.s_addr = parse_ipv4(args.str("vip"));
    cfg.target.sin_port = htons(static_cast<uint16_t>(args.num("port", 80)));
    std::stringstream list(args.str("sources"));
    for (std::string item; std::getline(list, item, ',');) cfg.sources.push_back(parse_ipv4(item));
    if (cfg.sources.empty()) throw std::invalid_argument("--sources: expected a comma-separated address list");
    cfg.concurrency = static_cast<unsigned>(args.num("concurrency", 128));
    cfg.seconds = args.num("seconds", 2);
    cfg.max_conns = static_cast<uint64_t>(args.num("max-conns", 50000));
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    Client client(cfg);
    const auto cpu0 = cpu_seconds();
    client.run();
    const auto cpu1 = cpu_seconds();
    client.report(cpu1.first - cpu0.first, cpu1.second - cpu0.second);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc < 2) throw std::invalid_argument("usage: connbench server|client --name value ...");
        const std::string mode = argv[1];
        const Args args(argc - 1, argv + 1);
        if (mode == "server") return run_server(args);
        if (mode == "client") return run_client(args);
        throw std::invalid_argument("mode '" + mode + "': expected server or client");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "connbench: %s\n", e.what());
        return 1;
    }
}

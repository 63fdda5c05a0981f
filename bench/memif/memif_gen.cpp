// memif_gen: the fast path's traffic generator over net_memif, a DPDK primary process of its own.
//
//   memif_gen EAL-ARGS -- --mode udp|tcp|conn --flows N --seconds S [options]
//
// EAL-ARGS give it its own --file-prefix, one lcore and two memif ports in the client role, e.g.
//   --file-prefix memifgen --no-huge -m 512 --no-pci -l 0
//   --vdev=net_memif0,role=client,socket=/tmp/x/ext.sock,socket-abstract=no,mac=02:00:00:00:0a:02
//   --vdev=net_memif1,role=client,socket=/tmp/x/pods.sock,socket-abstract=no,mac=02:00:00:00:0b:02
// Port A (--port-a) plays the clients behind a router; port B (--port-b) plays the pods.
//
// stdout: "memif_gen: measuring" when the measured window opens and "memif_gen: measured" when
// it closes (a runner reads the gateway's counters at both), then the report as one JSON
// object (also written to --json). Exit status 0 whatever the numbers; 2 on a usage or setup
// error.
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bench/memif/memif_gen.hpp"

using nfgate::memif::Counters;
using nfgate::memif::Mode;
using nfgate::memif::Options;
using nfgate::memif::Phase;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kUsage =
    "usage: memif_gen EAL-ARGS -- --mode udp|tcp|conn [--flows N] [--seconds S] [--window N] [--max-conns N]\n"
    "  [--warmup-timeout S] [--link-timeout S] [--port-a NAME] [--port-b NAME] --mac-a MAC --mac-b MAC\n"
    "  --gw-mac-a MAC --gw-mac-b MAC --gw-ip-a IP --gw-ip-b IP --clients IP --vip IP --vport N\n"
    "  --target-port N --pods IP[,IP...] [--snat IP] [--json FILE]\n";

uint32_t ipv4(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::invalid_argument("'" + s + "' is not an IPv4 address");
    return ntohl(a.s_addr);
}

nfgate::memif::Mac mac(const std::string& s) {
    nfgate::memif::Mac m{};
    unsigned v[6];
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        throw std::invalid_argument("'" + s + "' is not a MAC address (xx:xx:xx:xx:xx:xx)");
    for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
    return m;
}

Options parse(int argc, char** argv) {
    Options o;
    auto need = [&](int& i) -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(argv[i]) + " needs a value");
        return argv[++i];
    };
    bool have_pods = false;
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--mode") {
            const std::string m = need(i);
            if (m == "udp") o.mode = Mode::udp;
            else if (m == "tcp") o.mode = Mode::tcp;
            else if (m == "conn") o.mode = Mode::conn;
            else throw std::invalid_argument("--mode " + m + ": want udp, tcp or conn");
        } else if (a == "--flows") o.flows = static_cast<uint32_t>(std::stoul(need(i)));
        else if (a == "--seconds") o.seconds = std::stod(need(i));
        else if (a == "--window") o.window = static_cast<uint32_t>(std::stoul(need(i)));
        else if (a == "--max-conns") o.max_conns = static_cast<uint32_t>(std::stoul(need(i)));
        else if (a == "--warmup-timeout") o.warmup_timeout = std::stod(need(i));
        else if (a == "--link-timeout") o.link_timeout = std::stod(need(i));
        else if (a == "--port-a") o.port_a = need(i);
        else if (a == "--port-b") o.port_b = need(i);
        else if (a == "--mac-a") o.mac_a = mac(need(i));
        else if (a == "--mac-b") o.mac_b = mac(need(i));
        else if (a == "--gw-mac-a") o.gw_mac_a = mac(need(i));
        else if (a == "--gw-mac-b") o.gw_mac_b = mac(need(i));
        else if (a == "--gw-ip-a") o.gw_ip_a = ipv4(need(i));
        else if (a == "--gw-ip-b") o.gw_ip_b = ipv4(need(i));
        else if (a == "--clients") o.ends.client_base = ipv4(need(i));
        else if (a == "--vip") o.ends.vip = ipv4(need(i));
        else if (a == "--vport") o.ends.vport = static_cast<uint16_t>(std::stoul(need(i)));
        else if (a == "--target-port") o.ends.target_port = static_cast<uint16_t>(std::stoul(need(i)));
        else if (a == "--snat") o.ends.snat = ipv4(need(i));
        else if (a == "--json") o.json_path = need(i);
        else if (a == "--pods") {
            std::stringstream list(need(i));
            for (std::string ip; std::getline(list, ip, ',');) {
                const uint32_t v = ipv4(ip);
                if (have_pods && (v & 0xffff0000u) != o.ends.pod_prefix)
                    throw std::invalid_argument("--pods: every endpoint must be in one /16");
                o.ends.pod_prefix = v & 0xffff0000u;
                o.ends.add_pod(v);
                have_pods = true;
            }
        } else throw std::invalid_argument("unknown option " + a);
    }
    if (!have_pods || o.ends.vip == 0 || o.ends.client_base == 0 || o.flows == 0)
        throw std::invalid_argument("--pods, --vip, --clients and a non-zero --flows are required");
    // conn mode: every connection a fresh client tuple, checked only for its range.
    o.ends.flows = o.mode == Mode::conn ? UINT32_MAX : o.flows;
    return o;
}

Json counters_json(const Counters& c) {
    return Json{{"tx", c.tx}, {"tx_refused", c.tx_refused}, {"good", c.good}, {"bad", c.bad},
                {"syn_seen", c.syn_seen}, {"syn_acks", c.syn_acks}, {"client_acks", c.client_acks},
                {"established", c.established}, {"rst_seen", c.rst_seen}, {"arp_answered", c.arp_answered},
                {"other", c.other}};
}

Counters diff(const Counters& b, const Counters& a) {
    return {b.tx - a.tx, b.tx_refused - a.tx_refused, b.good - a.good, b.bad - a.bad, b.syn_seen - a.syn_seen,
            b.syn_acks - a.syn_acks, b.client_acks - a.client_acks, b.established - a.established,
            b.rst_seen - a.rst_seen, b.arp_answered - a.arp_answered, b.other - a.other};
}

Json phase_json(const Phase& p, const Counters& after_drain) {
    const Counters d = diff(p.end, p.start);
    const double s = p.seconds > 0 ? p.seconds : 1;
    Json j{{"seconds", p.seconds}, {"counts", counters_json(d)}, {"tx_pps", double(d.tx) / s},
           {"good_pps", double(d.good) / s}, {"conn_per_s", double(d.established) / s}};
    // Loss counts what arrived by the end of the drain that followed the window.
    const Counters settled = diff(after_drain, p.start);
    if (d.tx != 0 && settled.good != 0) j["loss"] = 1.0 - double(settled.good) / double(d.tx);
    Json per_second = Json::array();
    Counters prev = p.start;
    double prev_t = 0;
    for (const auto& smp : p.samples) {
        const Counters k = diff(smp.c, prev);
        const double dt = smp.t - prev_t;
        per_second.push_back({{"t", smp.t}, {"tx_pps", double(k.tx) / dt}, {"good_pps", double(k.good) / dt},
                              {"conn_per_s", double(k.established) / dt}});
        prev = smp.c;
        prev_t = smp.t;
    }
    j["per_second"] = per_second;
    return j;
}

const char* mode_name(Mode m) { return m == Mode::udp ? "udp" : m == Mode::tcp ? "tcp" : "conn"; }

int run(const Options& o) {
    rte_mempool* pool = rte_pktmbuf_pool_create("memif_gen", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                static_cast<int>(rte_socket_id()));
    if (pool == nullptr) {
        std::cerr << "memif_gen: cannot allocate the packet pool (give EAL more memory with -m)\n";
        return 2;
    }
    uint16_t a = 0, b = 0;
    std::string err;
    if (!nfgate::memif::open_port(o.port_a, pool, a, err) || !nfgate::memif::open_port(o.port_b, pool, b, err)) {
        std::cerr << "memif_gen: " << err << "\n";
        return 2;
    }
    if (!nfgate::memif::wait_link_up(a, o.link_timeout) || !nfgate::memif::wait_link_up(b, o.link_timeout)) {
        std::cerr << "memif_gen: the memif links did not come up within " << o.link_timeout
                  << " s (is the gateway up, with memif ports on the same sockets?)\n";
        return 2;
    }
    std::cout << "memif_gen: links up" << std::endl;
    nfgate::memif::Generator gen(o, a, b, pool);
    gen.drain(50);  // the gateway's gratuitous ARPs
    const Phase warm = gen.warm_up();
    std::cout << "memif_gen: measuring" << std::endl;
    const Phase m = gen.measure();
    std::cout << "memif_gen: measured" << std::endl;
    gen.drain(50);
    Json bad = Json::object();
    for (const auto& [why, n] : gen.bad_reasons()) bad[why] = n;
    Json report{{"mode", mode_name(o.mode)},
                {"flows", o.flows},
                {"window", o.window},
                {"warm_up", phase_json(warm, warm.end)},
                {"tcp_flows_open", gen.tcp_flows_open()},
                {"measure", phase_json(m, gen.counters())},
                {"totals", counters_json(gen.counters())},
                {"bad_reasons", bad}};
    std::cout << report.dump() << std::endl;
    if (!o.json_path.empty()) std::ofstream(o.json_path) << report.dump(2) << "\n";
    nfgate::memif::close_port(a);
    nfgate::memif::close_port(b);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int sep = 1;
    while (sep < argc && std::string(argv[sep]) != "--") ++sep;
    if (sep == argc) {
        std::cerr << kUsage;
        return 2;
    }
    Options o;
    try {
        o = parse(argc - sep - 1, argv + sep + 1);
    } catch (const std::exception& e) {
        std::cerr << "memif_gen: " << e.what() << "\n" << kUsage;
        return 2;
    }
    if (rte_eal_init(sep, argv) < 0) {
        std::cerr << "memif_gen: rte_eal_init refused the EAL arguments (its log above says why)\n";
        return 2;
    }
    const int rc = run(o);
    rte_eal_cleanup();
    return rc;
}

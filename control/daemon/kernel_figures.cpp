#include "control/daemon/kernel_figures.hpp"

#include <fstream>
#include <sstream>

namespace nfgate::daemon {

namespace {

std::optional<uint64_t> read_number(const char* path) {
    std::ifstream f(path);
    uint64_t v = 0;
    if (f >> v) return v;
    return std::nullopt;
}

}  // namespace

std::vector<metrics::InterfaceFigures> parse_proc_net_dev(std::string_view text) {
    // "  eth0: rx_bytes rx_packets errs drop fifo frame compressed multicast tx_bytes tx_packets ..."
    std::vector<metrics::InterfaceFigures> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;  // the two header lines
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        if (name.empty() || name == "lo") continue;
        std::istringstream fields(line.substr(colon + 1));
        uint64_t v[10];
        bool ok = true;
        for (uint64_t& x : v) ok = ok && static_cast<bool>(fields >> x);
        if (!ok) continue;
        metrics::InterfaceFigures f;
        f.name = name;
        f.rx_bytes = v[0];
        f.rx_packets = v[1];
        f.tx_bytes = v[8];
        f.tx_packets = v[9];
        out.push_back(std::move(f));
    }
    return out;
}

KernelFigures read_kernel_figures() {
    KernelFigures k;
    std::ifstream dev("/proc/net/dev");
    std::stringstream text;
    text << dev.rdbuf();
    k.interfaces = parse_proc_net_dev(text.str());
    // The namespace's one conntrack table: IPv4 and IPv6 entries alike.
    k.conntrack_count = read_number("/proc/sys/net/netfilter/nf_conntrack_count");
    k.conntrack_max = read_number("/proc/sys/net/netfilter/nf_conntrack_max");
    return k;
}

}  // namespace nfgate::daemon

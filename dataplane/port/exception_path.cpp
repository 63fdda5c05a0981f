#include "dataplane/port/exception_path.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/ipv6.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace nfgate::port {

namespace {

constexpr unsigned kBurst = 32;
constexpr int kIdlePollMs = 1;  // the longest a frame for the kernel waits while all is quiet

sockaddr in4(uint32_t host) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(host);
    sockaddr s{};
    std::memcpy(&s, &a, sizeof(a));
    return s;
}

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

void set_ipv6_conf(const std::string& ifname, const char* key, const char* value) {
    std::ofstream("/proc/sys/net/ipv6/conf/" + ifname + "/" + key) << value << "\n";
}

// IPv6 on the TAP `ifname` as the gateway's kernel needs it behind the fast path: its addresses
// (the fast path answers neighbour solicitations for them, so no duplicate address detection),
// no router advertisements taken, no autoconfiguration, no router solicitations, no link-local
// address of its own (the kernel's traffic leaves from the port's global addresses). The
// kernel resolves its next hops itself: the fast path hands it the advertisements.
bool add_ipv6_addresses(const std::string& ifname, const std::vector<IfAddr6>& addrs, std::string& err) {
    for (const char* key : {"accept_ra", "autoconf", "accept_dad", "dad_transmits", "router_solicitations"})
        set_ipv6_conf(ifname, key, "0");
    set_ipv6_conf(ifname, "addr_gen_mode", "1");
    set_ipv6_conf(ifname, "disable_ipv6", "0");
    const int s = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = s >= 0;
    const unsigned index = if_nametoindex(ifname.c_str());
    for (const IfAddr6& a : addrs) {
        if (!ok) break;
        in6_ifreq r{};
        std::memcpy(&r.ifr6_addr, a.addr.data(), 16);
        r.ifr6_prefixlen = a.len;
        r.ifr6_ifindex = static_cast<int>(index);
        ok = ::ioctl(s, SIOCSIFADDR, &r) == 0 || errno == EEXIST;
        if (!ok) err = sys_error("exception interface " + ifname + ": address " + ip6_to_string(a.addr));
    }
    if (s >= 0) ::close(s);
    return ok;
}

// The TAP `name` with `mac`, `addr`, up. Returns its fd, or -1 with `err`.
int make_tap(const Interface& ifc, const rte_ether_addr& mac, std::string& err) {
    const std::string what = "exception interface " + ifc.name;
    if (ifc.name.empty() || ifc.name.size() >= IFNAMSIZ) {
        err = what + ": the interface name must have 1-" + std::to_string(IFNAMSIZ - 1) + " characters";
        return -1;
    }
    const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        err = sys_error(what + ": /dev/net/tun");
        return -1;
    }
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifc.name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
        err = sys_error(what + ": cannot create it (is the name taken by another interface?)");
        ::close(fd);
        return -1;
    }
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = s >= 0;
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
    ok = ok && ::ioctl(s, SIOCSIFHWADDR, &ifr) == 0;
    if (ok && ifc.address.addr != 0) {
        ifr.ifr_addr = in4(ifc.address.addr);
        ok = ::ioctl(s, SIOCSIFADDR, &ifr) == 0;
        ifr.ifr_netmask = in4(ifc.address.subnet().mask());
        ok = ok && ::ioctl(s, SIOCSIFNETMASK, &ifr) == 0;
    }
    ok = ok && ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    if (!ok) {
        err = sys_error(what + ": cannot give it the port's MAC and address");
        if (s >= 0) ::close(s);
        ::close(fd);
        return -1;
    }
    ::close(s);
    if (ifc.addresses6.empty()) {
        // An IPv4-only port: keep the kernel's IPv6 chatter (router solicitations, MLD) off it.
        set_ipv6_conf(ifc.name, "disable_ipv6", "1");
    } else if (!add_ipv6_addresses(ifc.name, ifc.addresses6, err)) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// The gateway file's route through the interface whose subnet holds its next hop.
bool add_route(const Model& m, const Route& r, std::string& err) {
    rtentry rt{};
    rt.rt_dst = in4(r.to.addr);
    rt.rt_genmask = in4(r.to.mask());
    rt.rt_flags = RTF_UP;
    std::string dev;
    for (const Interface& ifc : m.interfaces)
        if (r.via != 0 && ifc.address.subnet().contains(r.via)) dev = ifc.name;
    if (r.via != 0) {
        rt.rt_gateway = in4(r.via);
        rt.rt_flags |= RTF_GATEWAY;
    }
    if (r.to.len == 32) rt.rt_flags |= RTF_HOST;
    if (!dev.empty()) rt.rt_dev = dev.data();
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool ok = s >= 0 && (::ioctl(s, SIOCADDRT, &rt) == 0 || errno == EEXIST);
    if (!ok) err = sys_error("exception path: route " + cidr_to_string(r.to) + " via " + ip_to_string(r.via));
    if (s >= 0) ::close(s);
    return ok;
}

// The same for an IPv6 route: by the interface whose prefix holds its next hop (connected
// routes come with the addresses).
bool add_route6(const Model& m, const Route6& r, std::string& err) {
    in6_rtmsg rt{};
    std::memcpy(&rt.rtmsg_dst, r.to.addr.data(), 16);
    rt.rtmsg_dst_len = r.to.len;
    rt.rtmsg_flags = RTF_UP;
    rt.rtmsg_metric = 1;
    for (const Interface& ifc : m.interfaces)
        for (const IfAddr6& a : ifc.addresses6)
            if (!r.via.is_zero() && a.subnet().contains(r.via)) rt.rtmsg_ifindex = static_cast<int>(if_nametoindex(ifc.name.c_str()));
    if (!r.via.is_zero()) {
        std::memcpy(&rt.rtmsg_gateway, r.via.data(), 16);
        rt.rtmsg_flags |= RTF_GATEWAY;
    }
    if (r.to.len == 128) rt.rtmsg_flags |= RTF_HOST;
    const int s = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool ok = s >= 0 && (::ioctl(s, SIOCADDRT, &rt) == 0 || errno == EEXIST);
    if (!ok) err = sys_error("exception path: route " + cidr6_to_string(r.to) + " via " + ip6_to_string(r.via));
    if (s >= 0) ::close(s);
    return ok;
}

}  // namespace

bool ExceptionPath::open(const Model& m, const std::vector<rte_ether_addr>& macs, unsigned workers,
                         rte_mempool* pool, std::string& err) {
    pool_ = pool;
    for (size_t i = 0; i < m.interfaces.size(); ++i) {
        const int fd = make_tap(m.interfaces[i], macs[i], err);
        if (fd < 0) {
            close();
            return false;
        }
        taps_.push_back(fd);
    }
    for (const Route& r : m.routes)
        if (!add_route(m, r, err)) {
            close();
            return false;
        }
    for (const Route6& r : m.routes6)
        if (!add_route6(m, r, err)) {
            close();
            return false;
        }
    for (unsigned w = 0; w < workers; ++w) {
        const std::string name = "nfgate_exc_" + std::to_string(w);
        rte_ring* ring = rte_ring_create(name.c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (ring == nullptr) {
            err = "exception path: cannot create ring " + name + "; give EAL more memory (-m)";
            close();
            return false;
        }
        rings_.push_back(ring);
    }
    return true;
}

void ExceptionPath::start(Send send) {
    stop_.store(false, std::memory_order_relaxed);
    mover_ = std::thread([this, send = std::move(send)]() { run(send); });
}

void ExceptionPath::run(Send send) {
    std::vector<pollfd> fds;
    for (int fd : taps_) fds.push_back({fd, POLLIN, 0});
    std::vector<uint8_t> frame(RTE_MBUF_DEFAULT_DATAROOM);
    while (!stop_.load(std::memory_order_relaxed)) {
        // Workers -> kernel.
        unsigned moved = 0;
        for (rte_ring* r : rings_) {
            rte_mbuf* pkts[kBurst];
            const unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kBurst, nullptr);
            for (unsigned i = 0; i < n; ++i) {
                rte_mbuf* m = pkts[i];
                if (m->port < taps_.size() && m->nb_segs == 1 &&
                    ::write(taps_[m->port], rte_pktmbuf_mtod(m, void*), m->data_len) == m->data_len)
                    to_kernel_.fetch_add(1, std::memory_order_relaxed);
                rte_pktmbuf_free(m);
            }
            moved += n;
        }
        // Kernel -> ports; wait for the kernel only while the workers have nothing either.
        if (::poll(fds.data(), fds.size(), moved != 0 ? 0 : kIdlePollMs) <= 0) continue;
        for (size_t i = 0; i < fds.size(); ++i) {
            if ((fds[i].revents & POLLIN) == 0) continue;
            for (unsigned k = 0; k < kBurst; ++k) {
                const ssize_t len = ::read(fds[i].fd, frame.data(), frame.size());
                if (len <= 0) break;
                rte_mbuf* m = rte_pktmbuf_alloc(pool_);
                if (m == nullptr) break;
                char* dst = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
                if (dst == nullptr) {
                    rte_pktmbuf_free(m);
                    continue;
                }
                std::memcpy(dst, frame.data(), static_cast<size_t>(len));
                if (send(static_cast<uint16_t>(i), m)) from_kernel_.fetch_add(1, std::memory_order_relaxed);
                else rte_pktmbuf_free(m);
            }
        }
    }
}

void ExceptionPath::close() {
    stop_.store(true, std::memory_order_relaxed);
    if (mover_.joinable()) mover_.join();
    for (rte_ring* r : rings_) {
        rte_mbuf* m;
        while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
        rte_ring_free(r);
    }
    rings_.clear();
    for (int fd : taps_) ::close(fd);  // a TAP without TUNSETPERSIST goes with its last fd
    taps_.clear();
}

}  // namespace nfgate::port

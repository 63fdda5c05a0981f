// TAP ports are bridge-safe as nfgate starts them: the kernel side of each net_tap port carries
// a MAC of its own, derived from the port's, not the port's MAC the TAP PMD gives it. The TAPs
// are made in a network namespace of this process's own (root; skipped without it).
#include <gtest/gtest.h>

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <rte_ethdev.h>

#include "dataplane/fast_path.hpp"
#include "dataplane/port/tap_kernel_mac.hpp"
#include "tests/fastpath/nat_fixture.hpp"

namespace nfgate::test {
namespace {

rte_ether_addr mac_of(const uint8_t (&b)[6]) {
    rte_ether_addr m;
    std::memcpy(m.addr_bytes, b, 6);
    return m;
}

TEST(TapKernelSideMac, LocallyAdministeredUnicastAndNeverThePortsOwn) {
    const uint8_t cases[][6] = {{0x02, 0x64, 0x74, 0x61, 0x70, 0x00},   // TAP PMD "mac=fixed"
                                {0x2e, 0x17, 0x2c, 0x54, 0x7c, 0xd4},   // a random one it made
                                {0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c},   // universally administered
                                {0x07, 0xff, 0xff, 0xff, 0xff, 0xff}};  // group bit set
    for (const auto& c : cases) {
        const rte_ether_addr port = mac_of(c);
        const rte_ether_addr kernel = port::tap_kernel_side_mac(port);
        EXPECT_FALSE(rte_is_same_ether_addr(&port, &kernel));
        EXPECT_TRUE(rte_is_local_admin_ether_addr(&kernel));
        EXPECT_TRUE(rte_is_unicast_ether_addr(&kernel));
        EXPECT_EQ(std::memcmp(port.addr_bytes + 1, kernel.addr_bytes + 1, 5), 0) << "only the first octet changes";
        const rte_ether_addr again = port::tap_kernel_side_mac(port);
        EXPECT_TRUE(rte_is_same_ether_addr(&kernel, &again)) << "deterministic";
    }
    const rte_ether_addr fixed = mac_of(cases[0]);
    const rte_ether_addr kernel = port::tap_kernel_side_mac(fixed);
    EXPECT_EQ(kernel.addr_bytes[0], 0x06);
}

rte_ether_addr kernel_mac(const char* ifname) {
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::ioctl(fd, SIOCGIFHWADDR, &ifr), 0) << ifname << ": " << std::strerror(errno);
    ::close(fd);
    rte_ether_addr m;
    std::memcpy(m.addr_bytes, ifr.ifr_hwaddr.sa_data, 6);
    return m;
}

TEST(FastPathTap, KernelSideOfEachTapHasItsOwnMac) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: TAP devices in a private network namespace";
    // Before EAL makes any thread: every thread it starts inherits this namespace.
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    Model m = nat_model(1, {"10.244.1.10"});
    m.eal_args = {"--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--log-level=*:error",
                  "--file-prefix=nfgate_fptap_" + std::to_string(::getpid())};
    m.interfaces = {{"ext", "net_tap0,iface=nfgt-ext", {ip("192.0.2.1"), 24}},
                    {"pods", "net_tap1,iface=nfgt-pods", {ip("10.244.0.1"), 16}}};
    std::string err;
    auto fp = fastpath::FastPath::start(m, err);
    ASSERT_NE(fp, nullptr) << err;
    for (const auto& [dev, ifname] : {std::pair{"net_tap0", "nfgt-ext"}, std::pair{"net_tap1", "nfgt-pods"}}) {
        uint16_t port_id = 0;
        ASSERT_EQ(rte_eth_dev_get_port_by_name(dev, &port_id), 0) << dev;
        rte_ether_addr port_mac;
        ASSERT_EQ(rte_eth_macaddr_get(port_id, &port_mac), 0);
        const rte_ether_addr want = port::tap_kernel_side_mac(port_mac);
        const rte_ether_addr got = kernel_mac(ifname);
        EXPECT_TRUE(rte_is_same_ether_addr(&got, &want)) << ifname << " kept the port's MAC or another";
        EXPECT_FALSE(rte_is_same_ether_addr(&got, &port_mac)) << ifname;
    }
    fp->stop();
    std::error_code ignored;
    std::filesystem::remove_all("/var/run/dpdk/nfgate_fptap_" + std::to_string(::getpid()), ignored);
}

}  // namespace
}  // namespace nfgate::test

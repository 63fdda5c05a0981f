#include "dataplane/port/tap_kernel_mac.hpp"

#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <rte_ethdev.h>

namespace nfgate::port {

namespace {

constexpr uint8_t kLocallyAdministered = 0x02;
constexpr uint8_t kGroup = 0x01;
constexpr uint8_t kFlipped = 0x04;

std::string mac_text(const rte_ether_addr& mac) {
    char buf[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(buf, sizeof buf, &mac);
    return buf;
}

}  // namespace

rte_ether_addr tap_kernel_side_mac(const rte_ether_addr& port_mac) {
    rte_ether_addr mac = port_mac;
    mac.addr_bytes[0] = static_cast<uint8_t>(((mac.addr_bytes[0] | kLocallyAdministered) & ~kGroup) ^ kFlipped);
    return mac;
}

bool separate_tap_kernel_mac(uint16_t port_id, const rte_ether_addr& port_mac, const std::string& field,
                             std::string& err) {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port_id, &info) != 0 || info.driver_name == nullptr ||
        std::string_view(info.driver_name) != "net_tap")
        return true;
    char ifname[IF_NAMESIZE] = {};
    if (info.if_index == 0 || if_indextoname(info.if_index, ifname) == nullptr) {
        err = field + ": cannot find the kernel side of this TAP port (interface index " +
              std::to_string(info.if_index) + "): " + std::strerror(errno);
        return false;
    }
    const rte_ether_addr mac = tap_kernel_side_mac(port_mac);
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, ifname, sizeof ifr.ifr_name);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int rc = fd < 0 ? -1 : ::ioctl(fd, SIOCSIFHWADDR, &ifr);
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    if (rc != 0) {
        err = field + ": cannot give the TAP's kernel side " + ifname + " the MAC " + mac_text(mac) +
              " (the port keeps " + mac_text(port_mac) + "; bridged, the TAP would not receive its frames): " +
              std::strerror(saved) + " (needs CAP_NET_ADMIN)";
        return false;
    }
    return true;
}

}  // namespace nfgate::port

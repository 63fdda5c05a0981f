// TAP ports that can join a Linux bridge as they are. The TAP PMD gives the kernel side of its
// TAP the port's own MAC; a bridge that has that TAP as a member takes frames addressed to the
// port for its own and delivers them to itself, never into the TAP. So once a net_tap port has
// started (rte_eth_dev_start puts the port's MAC back on the kernel side), nfgate gives the
// kernel side a MAC of its own, derived from the port's.
#pragma once

#include <cstdint>
#include <string>

#include <rte_ether.h>

namespace nfgate::port {

// The kernel side's MAC: the port's with the locally administered bit set, the group bit clear
// and bit 2 of the first octet flipped, so it always differs from the port's and the same port
// MAC always gives the same one.
rte_ether_addr tap_kernel_side_mac(const rte_ether_addr& port_mac);

// For a net_tap port: sets tap_kernel_side_mac(port_mac) on its kernel-side interface. Any other
// driver: nothing to do. False with err (naming `field` and the interface) when the kernel
// refuses.
bool separate_tap_kernel_mac(uint16_t port_id, const rte_ether_addr& port_mac, const std::string& field,
                             std::string& err);

}  // namespace nfgate::port

// An rtnetlink socket for the kernel path's routes and neighbour entries (local_routes.cpp,
// ndp_proxy.cpp): opened and bound, or an error naming `who`; closed when it goes out of scope.
#pragma once

#include <libmnl/libmnl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace nfgate::nft {

struct RtnlClose {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using RtnlSocket = std::unique_ptr<mnl_socket, RtnlClose>;

inline RtnlSocket open_rtnl(const char* who, std::string& err) {
    RtnlSocket nl(mnl_socket_open(NETLINK_ROUTE));
    if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        err = std::string(who) + ": opening the rtnetlink socket: " + std::strerror(errno);
        return nullptr;
    }
    return nl;
}

}  // namespace nfgate::nft

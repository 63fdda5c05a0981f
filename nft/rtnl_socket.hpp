// rtnetlink for the kernel path's routes and neighbour entries (local_routes.cpp,
// ndp_proxy.cpp): the socket (closed when it goes out of scope), one request with its
// acknowledgement, and a dump fed to a callback.
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

// Sends `nlh` (which asks for an acknowledgement) and reads the answer. False with errno set
// when the kernel refused it or the socket failed.
inline bool rtnl_request(mnl_socket* nl, nlmsghdr* nlh) {
    static uint32_t seq = 1;
    nlh->nlmsg_seq = ++seq;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return false;
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    return n >= 0 && mnl_cb_run(buf, n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), nullptr, nullptr) >= 0;
}

// Sends `nlh` as a dump request and feeds every answer to `cb`; an error names `who` and `what`.
inline bool rtnl_dump(mnl_socket* nl, nlmsghdr* nlh, mnl_cb_t cb, void* data, const char* who, const char* what,
                      std::string& err) {
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = 1;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        const uint32_t portid = mnl_socket_get_portid(nl);
        for (;;) {
            ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
            int r = n < 0 ? -1 : mnl_cb_run(buf, n, 1, portid, cb, data);
            if (r == MNL_CB_STOP) return true;
            if (r < 0) break;
        }
    }
    err = std::string(who) + ": " + what + ": " + std::strerror(errno);
    return false;
}

}  // namespace nfgate::nft

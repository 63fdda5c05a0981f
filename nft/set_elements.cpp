#include "nft/set_elements.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "nft/netlink.hpp"
#include "nft/nft_handles.hpp"

namespace nfgate::nft {

namespace {

using IterPtr = std::unique_ptr<nftnl_set_elems_iter, FreeWith<nftnl_set_elems_iter_destroy>>;

int parse_elems(const nlmsghdr* nlh, void* data) {
    nftnl_set_elems_nlmsg_parse(nlh, static_cast<nftnl_set*>(data));
    return MNL_CB_OK;
}

}  // namespace

bool dump_set_elements(const std::string& set, Family family, const std::function<void(nftnl_set_elem*)>& each,
                       std::string& err) {
    const bool ipv6 = family == Family::ip6;
    std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req.data(), NFT_MSG_GETSETELEM, ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4,
                                          NLM_F_DUMP | NLM_F_ACK, static_cast<uint32_t>(time(nullptr)));
    SetPtr s(nftnl_set_alloc());
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.c_str());
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    std::string qerr;
    if (query(nlh, parse_elems, s.get(), MNL_SOCKET_BUFFER_SIZE * 4, qerr) < 0) {
        const int e = errno;  // kept for the caller (ENOENT: no such table or set)
        err = std::string("dump set ") + (ipv6 ? "ip6 " : "ip ") + set + ": " + (qerr.empty() ? std::strerror(e) : qerr);
        errno = e;
        return false;
    }
    IterPtr it(nftnl_set_elems_iter_create(s.get()));
    for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e != nullptr; e = nftnl_set_elems_iter_next(it.get()))
        each(e);
    return true;
}

Addr addr_from_set(const uint8_t* p, Family family) {
    if (family == Family::ip6) return Addr(Ip6::from(p));
    uint32_t be;
    std::memcpy(&be, p, 4);
    return Addr(ntohl(be));
}

}  // namespace nfgate::nft

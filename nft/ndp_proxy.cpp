#include "nft/ndp_proxy.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "nft/rtnl_socket.hpp"

#include "nft/local_routes.hpp"  // kRouteProtocol

namespace nfgate::nft {
namespace {


struct Prefixes {
    std::vector<std::pair<int, Cidr6>> list;  // (ifindex, prefix)
};

int collect_prefix(const nlmsghdr* nlh, void* data) {
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    if (ifa->ifa_family != AF_INET6 || ifa->ifa_scope != RT_SCOPE_UNIVERSE) return MNL_CB_OK;
    const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifa)));
         mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
        if (mnl_attr_get_type(a) != IFA_ADDRESS || mnl_attr_get_payload_len(a) != 16 || ifa->ifa_prefixlen >= 128) continue;
        const Ip6 addr = Ip6::from(mnl_attr_get_payload(a));
        static_cast<Prefixes*>(data)->list.emplace_back(static_cast<int>(ifa->ifa_index),
                                                        Cidr6{ip6_prefix(addr, ifa->ifa_prefixlen), ifa->ifa_prefixlen});
    }
    return MNL_CB_OK;
}

int collect_proxy(const nlmsghdr* nlh, void* data) {
    const auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
    if (nd->ndm_family != AF_INET6 || !(nd->ndm_flags & NTF_PROXY)) return MNL_CB_OK;
    NdpProxy p{nd->ndm_ifindex, {}};
    bool ours = false, has_addr = false;
    const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(*nd)));
         mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
        if (mnl_attr_get_type(a) == NDA_DST && mnl_attr_get_payload_len(a) == 16) {
            p.addr = Ip6::from(mnl_attr_get_payload(a));
            has_addr = true;
        }
        if (mnl_attr_get_type(a) == NDA_PROTOCOL) ours = mnl_attr_get_u8(a) == kRouteProtocol;
    }
    if (ours && has_addr) static_cast<std::vector<NdpProxy>*>(data)->push_back(p);
    return MNL_CB_OK;
}

bool proxy(mnl_socket* nl, uint16_t type, const NdpProxy& p, std::string& err) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWNEIGH ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    nd->ndm_family = AF_INET6;
    nd->ndm_ifindex = p.ifindex;
    nd->ndm_flags = NTF_PROXY;
    nd->ndm_state = NUD_PERMANENT;
    mnl_attr_put(nlh, NDA_DST, 16, p.addr.data());
    if (type == RTM_NEWNEIGH) mnl_attr_put_u8(nlh, NDA_PROTOCOL, kRouteProtocol);
    if (rtnl_request(nl, nlh)) return true;
    if (errno == ENOENT && type == RTM_DELNEIGH) return true;
    char name[IF_NAMESIZE] = "?";
    if_indextoname(static_cast<unsigned>(p.ifindex), name);
    err = std::string("neighbour proxies: ") + (type == RTM_NEWNEIGH ? "adding " : "deleting ") + ip6_to_string(p.addr) +
          " dev " + name + ": " + std::strerror(errno);
    return false;
}

// A router proxies neighbour discovery on an interface only with proxy_ndp set there; and it
// answers at once rather than after a random delay of up to proxy_delay (0.8 s by default),
// as it answers ARP for an IPv4 VIP.
bool proxy_ndp_on(int ifindex, std::string& err) {
    char name[IF_NAMESIZE];
    if (if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr) return true;  // gone meanwhile
    for (const std::string& path : {std::string("/proc/sys/net/ipv6/conf/") + name + "/proxy_ndp",
                                   std::string("/proc/sys/net/ipv6/neigh/") + name + "/proxy_delay"}) {
        std::ofstream f(path);
        if (!(f << (path.ends_with("proxy_ndp") ? "1" : "0") << std::flush)) {
            err = "neighbour proxies: cannot write " + path;
            return false;
        }
    }
    return true;
}

}  // namespace

bool ndp_proxies_for(const std::vector<Ip6>& vips, std::vector<NdpProxy>& out, std::string& err) {
    out.clear();
    if (vips.empty()) return true;
    RtnlSocket nl = open_rtnl("neighbour proxies", err);
    if (!nl) return false;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETADDR;
    static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)))->ifa_family = AF_INET6;
    Prefixes prefixes;
    if (!rtnl_dump(nl.get(), nlh, collect_prefix, &prefixes, "neighbour proxies", "listing interface addresses", err)) return false;
    for (const Ip6& vip : vips)
        for (const auto& [ifindex, prefix] : prefixes.list)
            if (prefix.contains(vip)) out.push_back(NdpProxy{ifindex, vip});
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return true;
}

bool update_ndp_proxies(const std::vector<NdpProxy>& add, const std::vector<NdpProxy>& remove, std::string& err) {
    if (add.empty() && remove.empty()) return true;
    RtnlSocket nl = open_rtnl("neighbour proxies", err);
    if (!nl) return false;
    for (const auto& p : remove)
        if (!proxy(nl.get(), RTM_DELNEIGH, p, err)) return false;
    for (const auto& p : add)
        if (!proxy_ndp_on(p.ifindex, err) || !proxy(nl.get(), RTM_NEWNEIGH, p, err)) return false;
    return true;
}

bool list_ndp_proxies(std::vector<NdpProxy>& out, std::string& err) {
    out.clear();
    RtnlSocket nl = open_rtnl("neighbour proxies", err);
    if (!nl) return false;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETNEIGH;
    auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    nd->ndm_family = AF_INET6;
    nd->ndm_flags = NTF_PROXY;
    if (!rtnl_dump(nl.get(), nlh, collect_proxy, &out, "neighbour proxies", "listing proxy entries", err)) return false;
    std::sort(out.begin(), out.end());
    return true;
}

}  // namespace nfgate::nft

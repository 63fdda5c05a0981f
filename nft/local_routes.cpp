#include "nft/local_routes.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "nft/rtnl_socket.hpp"

namespace nfgate::nft {
namespace {


// What differs between the families: the address family, how the destination is written and
// read, how a prefix is named in an error.
constexpr uint8_t family_of(const Cidr&) { return AF_INET; }
constexpr uint8_t family_of(const Cidr6&) { return AF_INET6; }
void put_dst(nlmsghdr* nlh, const Cidr& c) { mnl_attr_put_u32(nlh, RTA_DST, htonl(c.addr)); }
void put_dst(nlmsghdr* nlh, const Cidr6& c) { mnl_attr_put(nlh, RTA_DST, 16, c.addr.data()); }
void get_dst(const nlattr* a, Cidr& c) { c.addr = ntohl(mnl_attr_get_u32(a)); }
void get_dst(const nlattr* a, Cidr6& c) {
    if (mnl_attr_get_payload_len(a) == 16) std::memcpy(c.addr.data(), mnl_attr_get_payload(a), 16);
}
std::string text(const Cidr& c) { return cidr_to_string(c); }
std::string text(const Cidr6& c) { return cidr6_to_string(c); }

// One request, one acknowledgement; ENOENT on delete and EEXIST never happen to matter here
// (deletes of a route already gone are fine, adds replace).
template <typename C>
bool talk(mnl_socket* nl, nlmsghdr* nlh, const C& c, const char* verb, std::string& err) {
    if (rtnl_request(nl, nlh) || (errno == ENOENT && nlh->nlmsg_type == RTM_DELROUTE)) return true;
    err = std::string("local routes: ") + verb + " local route " + text(c) + " dev lo: " + std::strerror(errno);
    return false;
}

template <typename C>
bool route(mnl_socket* nl, uint16_t type, const C& c, int lo, std::string& err) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family_of(c);
    rtm->rtm_dst_len = c.len;
    rtm->rtm_table = RT_TABLE_LOCAL;
    rtm->rtm_protocol = kRouteProtocol;
    rtm->rtm_scope = RT_SCOPE_HOST;
    rtm->rtm_type = RTN_LOCAL;
    put_dst(nlh, c);
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(lo));
    return talk(nl, nlh, c, type == RTM_NEWROUTE ? "adding" : "deleting", err);
}

template <typename C>
struct Found {
    std::vector<C> routes;
};

template <typename C>
int collect_route(const nlmsghdr* nlh, void* data) {
    auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
    if (rtm->rtm_family != family_of(C{}) || rtm->rtm_table != RT_TABLE_LOCAL || rtm->rtm_protocol != kRouteProtocol)
        return MNL_CB_OK;
    C c{};
    c.len = rtm->rtm_dst_len;
    const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(*rtm)));
         mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
        if (mnl_attr_get_type(attr) == RTA_DST) get_dst(attr, c);
    }
    static_cast<Found<C>*>(data)->routes.push_back(c);
    return MNL_CB_OK;
}

}  // namespace

std::vector<Cidr> local_route_prefixes(const Model& m) {
    std::vector<Cidr> out;
    for (const auto& c : m.service_cidrs) out.push_back(c);
    auto covered = [&](uint32_t ip) {
        return std::any_of(m.service_cidrs.begin(), m.service_cidrs.end(), [&](const Cidr& c) { return c.contains(ip); });
    };
    for (const auto& s : m.services) {
        for (uint32_t ip : s.external_ips)
            if (!covered(ip)) out.push_back(Cidr{ip, 32});
        for (uint32_t ip : s.lb_ips)
            if (!covered(ip)) out.push_back(Cidr{ip, 32});
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<Cidr6> local_route_prefixes6(const Model& m) {
    std::vector<Cidr6> out = m.service_cidrs6;
    auto covered = [&](const Ip6& ip) {
        return std::any_of(m.service_cidrs6.begin(), m.service_cidrs6.end(), [&](const Cidr6& c) { return c.contains(ip); });
    };
    for (const auto& s : m.services)
        for (const auto* ips : {&s.external_ips6, &s.lb_ips6})
            for (const Ip6& ip : *ips)
                if (!covered(ip)) out.push_back(Cidr6{ip, 128});
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

namespace {

// IPv6 takes no route through a device that is down (IPv4 does): in a fresh network namespace
// lo starts down, and nothing else there may have raised it yet.
bool lo_up(mnl_socket* nl, int lo, std::string& err) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = lo;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return talk(nl, nlh, Cidr{}, "bringing lo up for", err);
}

bool ready_for(mnl_socket*, int, const std::vector<Cidr>&, std::string&) { return true; }
bool ready_for(mnl_socket* nl, int lo, const std::vector<Cidr6>& add, std::string& err) {
    return add.empty() || lo_up(nl, lo, err);
}

template <typename C>
bool update_routes(const std::vector<C>& add, const std::vector<C>& remove, std::string& err) {
    if (add.empty() && remove.empty()) return true;
    int lo = static_cast<int>(if_nametoindex("lo"));
    if (lo == 0) {
        err = "local routes: no loopback device";
        return false;
    }
    RtnlSocket nl = open_rtnl("local routes", err);
    if (!nl) return false;
    for (const auto& c : remove)
        if (!route(nl.get(), RTM_DELROUTE, c, lo, err)) return false;
    if (!ready_for(nl.get(), lo, add, err)) return false;
    for (const auto& c : add)
        if (!route(nl.get(), RTM_NEWROUTE, c, lo, err)) return false;
    return true;
}

template <typename C>
bool list_routes(std::vector<C>& out, std::string& err) {
    RtnlSocket nl = open_rtnl("local routes", err);
    if (!nl) return false;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETROUTE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family_of(C{});
    Found<C> found;
    if (!rtnl_dump(nl.get(), nlh, collect_route<C>, &found, "local routes", "listing routes", err)) return false;
    std::sort(found.routes.begin(), found.routes.end());
    out = std::move(found.routes);
    return true;
}

}  // namespace

bool update_local_routes(const std::vector<Cidr>& add, const std::vector<Cidr>& remove, std::string& err) {
    return update_routes(add, remove, err);
}
bool update_local_routes(const std::vector<Cidr6>& add, const std::vector<Cidr6>& remove, std::string& err) {
    return update_routes(add, remove, err);
}
bool list_local_routes(std::vector<Cidr>& out, std::string& err) { return list_routes(out, err); }
bool list_local_routes(std::vector<Cidr6>& out, std::string& err) { return list_routes(out, err); }

bool remove_all_local_routes(std::string& err) {
    std::vector<Cidr> found;
    std::vector<Cidr6> found6;
    if (!list_local_routes(found, err) || !update_local_routes({}, found, err)) return false;
    // A host booted without IPv6 refuses to list IPv6 routes: then there are none of nfgate's.
    std::string ignored;
    return !list_local_routes(found6, ignored) || update_local_routes({}, found6, err);
}

}  // namespace nfgate::nft

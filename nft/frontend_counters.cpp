#include "nft/frontend_counters.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "nft/netlink.hpp"
#include "nft/nft_render.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

namespace {

using SetPtr = std::unique_ptr<nftnl_set, decltype([](nftnl_set* s) { nftnl_set_free(s); })>;
using IterPtr = std::unique_ptr<nftnl_set_elems_iter, decltype([](nftnl_set_elems_iter* i) { nftnl_set_elems_iter_destroy(i); })>;

int parse_elems(const nlmsghdr* nlh, void* data) {
    nftnl_set_elems_nlmsg_parse(nlh, static_cast<nftnl_set*>(data));
    return MNL_CB_OK;
}

int take_counter(nftnl_expr* e, void* data) {
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (name != nullptr && std::strcmp(name, "counter") == 0) {
        auto* c = static_cast<ElementCount*>(data);
        c->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
        c->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
    }
    return 0;
}

// Keys as nft lays out a concatenation: every member in 4-byte registers, in network order
// (an IPv6 address takes four).
bool decode_key(const uint8_t* key, uint32_t len, bool proto_port, bool ipv6, ElementCount& c) {
    const uint32_t addr_len = proto_port ? 0 : ipv6 ? 16 : 4;
    if (len != addr_len + 8) return false;
    const uint8_t* p = key;
    c.ipv6 = ipv6;
    if (ipv6) {
        if (!proto_port) c.ip6 = Ip6::from(p);
    } else if (!proto_port) {
        uint32_t ip;
        std::memcpy(&ip, p, 4);
        c.ip = ntohl(ip);
    }
    p += addr_len;
    c.proto = static_cast<Proto>(p[0]);
    uint16_t port;
    std::memcpy(&port, p + 4, 2);
    c.port = ntohs(port);
    return true;
}

}  // namespace

bool dump_element_counters(const std::string& set, bool proto_port, std::vector<ElementCount>& out, std::string& err,
                           Family family) {
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
    for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e != nullptr; e = nftnl_set_elems_iter_next(it.get())) {
        uint32_t len = 0;
        const auto* key = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
        ElementCount c;
        if (key == nullptr || !decode_key(key, len, proto_port, ipv6, c)) continue;
        nftnl_set_elem_expr_foreach(e, take_counter, &c);
        out.push_back(c);
    }
    return true;
}

void KernelTraffic::Running::see(uint64_t p, uint64_t b) {
    // Smaller than last time: the element was re-created and counts from zero again.
    packets += p >= last_packets ? p - last_packets : p;
    bytes += b >= last_bytes ? b - last_bytes : b;
    last_packets = p;
    last_bytes = b;
}

namespace {

// The three counted sets of one family's table.
bool dump_family(Family f, std::vector<ElementCount>& ips, std::vector<ElementCount>& nodeports,
                 std::vector<ElementCount>& traffic, std::string& err) {
    return dump_element_counters(kServiceIpsMap, false, ips, err, f) &&
           dump_element_counters(kServiceNodePortsMap, true, nodeports, err, f) &&
           dump_element_counters(kServiceTrafficSet, false, traffic, err, f);
}

}  // namespace

bool KernelTraffic::read(std::vector<FrontendTraffic>& out, std::string& err) {
    std::vector<ElementCount> ips, nodeports, traffic;
    if (!dump_family(Family::ip, ips, nodeports, traffic, err)) return false;
    // The ip6 table exists only while the model has an IPv6 half: without it, no IPv6 figures.
    // A table has all three sets or none: ENOENT comes from the first dump, before any element.
    std::string err6;
    if (!dump_family(Family::ip6, ips, nodeports, traffic, err6) && errno != ENOENT) {
        err = err6;
        return false;
    }
    auto key = [](const ElementCount& c) { return Key{c.ipv6, c.ip, c.ip6, static_cast<uint8_t>(c.proto), c.port}; };
    for (const auto* list : {&ips, &nodeports})
        for (const ElementCount& c : *list) connections_[key(c)].see(c.packets, c.bytes);
    for (const ElementCount& c : traffic) traffic_[key(c)].see(c.packets, c.bytes);
    auto row = [](const Key& k) {
        FrontendTraffic t;
        t.ipv6 = std::get<0>(k);
        t.ip = std::get<1>(k);
        t.ip6 = std::get<2>(k);
        t.proto = static_cast<Proto>(std::get<3>(k));
        t.port = std::get<4>(k);
        return t;
    };
    for (const auto& [k, r] : connections_) {
        FrontendTraffic t = row(k);
        t.connections = r.packets;
        out.push_back(t);
    }
    for (const auto& [k, r] : traffic_) {
        FrontendTraffic t = row(k);
        t.packets = r.packets;
        t.bytes = r.bytes;
        out.push_back(t);
    }
    return true;
}

}  // namespace nfgate::nft

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

// Keys as nft lays out a concatenation: every member in a 4-byte register, in network order.
bool decode_key(const uint8_t* key, uint32_t len, bool proto_port, ElementCount& c) {
    const uint32_t want = proto_port ? 8 : 12;
    if (len != want) return false;
    const uint8_t* p = key;
    if (!proto_port) {
        uint32_t ip;
        std::memcpy(&ip, p, 4);
        c.ip = ntohl(ip);
        p += 4;
    }
    c.proto = static_cast<Proto>(p[0]);
    uint16_t port;
    std::memcpy(&port, p + 4, 2);
    c.port = ntohs(port);
    return true;
}

}  // namespace

bool dump_element_counters(const std::string& set, bool proto_port, std::vector<ElementCount>& out, std::string& err) {
    std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req.data(), NFT_MSG_GETSETELEM, NFPROTO_IPV4, NLM_F_DUMP | NLM_F_ACK,
                                          static_cast<uint32_t>(time(nullptr)));
    SetPtr s(nftnl_set_alloc());
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.c_str());
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    std::string qerr;
    if (query(nlh, parse_elems, s.get(), MNL_SOCKET_BUFFER_SIZE * 4, qerr) < 0) {
        err = "dump set " + set + ": " + (qerr.empty() ? std::strerror(errno) : qerr);
        return false;
    }
    IterPtr it(nftnl_set_elems_iter_create(s.get()));
    for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e != nullptr; e = nftnl_set_elems_iter_next(it.get())) {
        uint32_t len = 0;
        const auto* key = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
        ElementCount c;
        if (key == nullptr || !decode_key(key, len, proto_port, c)) continue;
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

bool KernelTraffic::read(std::vector<FrontendTraffic>& out, std::string& err) {
    std::vector<ElementCount> ips, nodeports, traffic;
    if (!dump_element_counters(kServiceIpsMap, false, ips, err) ||
        !dump_element_counters(kServiceNodePortsMap, true, nodeports, err) ||
        !dump_element_counters(kServiceTrafficSet, false, traffic, err))
        return false;
    for (const auto* list : {&ips, &nodeports})
        for (const ElementCount& c : *list) connections_[{c.ip, static_cast<uint8_t>(c.proto), c.port}].see(c.packets, c.bytes);
    for (const ElementCount& c : traffic) traffic_[{c.ip, static_cast<uint8_t>(c.proto), c.port}].see(c.packets, c.bytes);
    auto row = [](const Key& k) {
        FrontendTraffic t;
        t.ip = std::get<0>(k);
        t.proto = static_cast<Proto>(std::get<1>(k));
        t.port = std::get<2>(k);
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

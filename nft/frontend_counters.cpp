#include "nft/frontend_counters.hpp"

#include <arpa/inet.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "nft/nft_render.hpp"
#include "nft/nft_ruleset.hpp"
#include "nft/set_elements.hpp"

namespace nfgate::nft {

namespace {

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
bool decode_key(const uint8_t* key, uint32_t len, bool proto_port, Family family, ElementCount& c) {
    const bool ipv6 = family == Family::ip6;
    const uint32_t addr_len = proto_port ? 0 : ipv6 ? 16 : 4;
    if (len != addr_len + 8) return false;
    c.ipv6 = ipv6;
    if (!proto_port) {
        const Addr a = addr_from_set(key, family);
        c.ip = a.v4;
        c.ip6 = a.v6;
    }
    const uint8_t* p = key + addr_len;
    c.proto = static_cast<Proto>(p[0]);
    uint16_t port;
    std::memcpy(&port, p + 4, 2);
    c.port = ntohs(port);
    return true;
}

}  // namespace

bool dump_element_counters(const std::string& set, bool proto_port, std::vector<ElementCount>& out, std::string& err,
                           Family family) {
    return dump_set_elements(set, family, [&](nftnl_set_elem* e) {
        uint32_t len = 0;
        const auto* key = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
        ElementCount c;
        if (key == nullptr || !decode_key(key, len, proto_port, family, c)) return;
        nftnl_set_elem_expr_foreach(e, take_counter, &c);
        out.push_back(c);
    }, err);
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

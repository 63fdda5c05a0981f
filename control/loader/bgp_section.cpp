#include "control/loader/bgp_section.hpp"

namespace nfgate::loader {

namespace {

constexpr uint64_t kMaxAsn = 4294967295u;

void read_peer(Reporter& r, YNode item, const FieldPath& p, BgpSettings& bgp) {
    if (!expect_map(r, item, p)) {
        if (item.is_null()) r.error(item.line(), p, "want a mapping with address, asn");
        return;
    }
    reject_unknown_keys(r, item, p, {"address", "asn", "port", "password", "holdTime", "bfd"});
    BgpPeer peer;
    const FieldPath addr = p.child("address"), asn = p.child("asn");
    std::vector<uint32_t> v4;
    std::vector<Ip6> v6;
    bool ok = require(r, item.get("address"), item.line(), addr, "the peer's address, e.g. 192.0.2.254 or \"2001:db8::fe\"") &&
              read_ip_any(r, item.get("address"), addr, v4, v6) && v4.size() + v6.size() == 1;
    if (ok && !v4.empty() && v4[0] == 0) {
        r.error(item.get("address").line(), addr, "0.0.0.0 is no peer's address");
        ok = false;
    }
    if (ok && !v4.empty()) peer.address = v4[0];
    if (ok && !v6.empty()) peer.address6 = v6[0];
    uint64_t v = 0;
    ok = require(r, item.get("asn"), item.line(), asn, "the peer's AS number, 1-4294967295") &&
         read_uint(r, item.get("asn"), asn, 1, kMaxAsn, v) && ok;
    peer.asn = static_cast<uint32_t>(v);
    if (read_uint(r, item.get("port"), p.child("port"), 1, 65535, v)) peer.port = static_cast<uint16_t>(v);
    if (read_string(r, item.get("password"), p.child("password"), peer.password) &&
        peer.password.find_first_of("\"\\\n") != std::string::npos)
        r.error(item.get("password").line(), p.child("password"), "must not hold quotes, backslashes or newlines");
    // RFC 4271 4.2: a hold time is 0 or at least 3 seconds; BIRD takes 3-65535.
    if (read_uint(r, item.get("holdTime"), p.child("holdTime"), 3, 65535, v)) peer.hold_time = static_cast<uint16_t>(v);
    read_bool(r, item.get("bfd"), p.child("bfd"), peer.bfd);
    if (!ok) return;
    for (const BgpPeer& other : bgp.peers)
        if (other.address == peer.address && other.address6 == peer.address6) {
            const std::string text = peer.ipv6() ? ip6_to_string(peer.address6) : ip_to_string(peer.address);
            r.error(item.get("address").line(), addr, text + " is a peer twice (want one entry per peer)");
            return;
        }
    bgp.peers.push_back(std::move(peer));
}

void read_announce(Reporter& r, YNode n, const FieldPath& f, BgpAnnounce& out) {
    BgpAnnounce a{false, false, false, false};
    for_each_item(r, n, f, [&](YNode item, const FieldPath& p) {
        size_t which = 0;
        if (!read_enum(r, item, p, {"loadBalancerIPs", "externalIPs", "clusterIPs", "serviceCIDRs"}, which)) return;
        bool* flags[] = {&a.load_balancer_ips, &a.external_ips, &a.cluster_ips, &a.service_cidrs};
        *flags[which] = true;
    });
    out = a;
}

}  // namespace

void read_bgp(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    if (!expect_map(r, n, f)) {
        if (n.is_null()) r.error(n.line(), f, "want a mapping with asn, routerId, peers, announce");
        return;
    }
    reject_unknown_keys(r, n, f, {"asn", "routerId", "peers", "announce"});
    BgpSettings& bgp = m.bgp;
    bgp.enabled = true;
    uint64_t asn = 0;
    const FieldPath asn_path = f.child("asn");
    if (require(r, n.get("asn"), n.line(), asn_path, "the gateway's AS number, 1-4294967295") &&
        read_uint(r, n.get("asn"), asn_path, 1, kMaxAsn, asn))
        bgp.asn = static_cast<uint32_t>(asn);
    if (!read_ipv4(r, n.get("routerId"), f.child("routerId"), bgp.router_id) && !n.get("routerId").present()) {
        if (!m.node_addresses.empty()) bgp.router_id = m.node_addresses.front();
        else r.error(n.line(), f.child("routerId"), "missing, and there is no node address to take it from (want e.g. 192.0.2.1)");
    }
    const FieldPath peers = f.child("peers");
    if (require(r, n.get("peers"), n.line(), peers, "a list of {address, asn}"))
        for_each_item(r, n.get("peers"), peers, [&](YNode item, const FieldPath& p) { read_peer(r, item, p, bgp); });
    if (n.get("announce").present()) read_announce(r, n.get("announce"), f.child("announce"), bgp.announce);
}

}  // namespace nfgate::loader

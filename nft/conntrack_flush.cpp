#include "nft/conntrack_flush.hpp"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <unordered_set>

namespace nfgate::nft {
namespace {

using Key = std::pair<uint32_t, uint16_t>;  // endpoint address, port (host order)

struct DumpState {
    const std::set<Key>* gone;
    std::vector<std::unique_ptr<nf_conntrack, decltype(&nfct_destroy)>> matches;
};

// After DNAT the reply direction's source is the endpoint, whatever VIP the client used.
int collect(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
    auto* st = static_cast<DumpState*>(data);
    if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_UDP) return NFCT_CB_CONTINUE;
    Key k{ntohl(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC)), ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC))};
    if (st->gone->count(k)) st->matches.emplace_back(nfct_clone(ct), &nfct_destroy);
    return NFCT_CB_CONTINUE;
}

}  // namespace

std::vector<Endpoint> gone_udp_endpoints(const std::vector<const Service*>& before,
                                         const std::vector<const Service*>& after, const Model& now) {
    auto key = [](const Endpoint& e) { return uint64_t{e.ip} << 16 | e.port; };
    auto each_ready_udp = [](const Service& s, auto&& fn) {
        for (const auto& p : s.ports)
            if (p.proto == Proto::udp)
                for (const auto& e : p.endpoints)
                    if (e.ready) fn(e);
    };
    std::unordered_set<uint64_t> gone;
    for (const Service* s : before) each_ready_udp(*s, [&](const Endpoint& e) { gone.insert(key(e)); });
    for (const Service* s : after) each_ready_udp(*s, [&](const Endpoint& e) { gone.erase(key(e)); });
    if (!gone.empty())
        for (const auto& s : now.services) each_ready_udp(s, [&](const Endpoint& e) { gone.erase(key(e)); });
    std::vector<Endpoint> out;
    for (uint64_t k : gone) out.push_back(Endpoint{static_cast<uint32_t>(k >> 16), static_cast<uint16_t>(k & 0xffff), true});
    std::sort(out.begin(), out.end());
    return out;
}

bool flush_udp_flows(const std::vector<Endpoint>& gone, size_t& deleted, std::string& err) {
    deleted = 0;
    if (gone.empty()) return true;
    std::set<Key> keys;
    for (const auto& e : gone) keys.insert({e.ip, e.port});
    std::unique_ptr<nfct_handle, decltype(&nfct_close)> h(nfct_open(CONNTRACK, 0), &nfct_close);
    if (!h) {
        err = std::string("conntrack: opening the netlink handle: ") + std::strerror(errno);
        return false;
    }
    DumpState st{&keys, {}};
    nfct_callback_register(h.get(), NFCT_T_ALL, collect, &st);
    uint32_t family = AF_INET;
    if (nfct_query(h.get(), NFCT_Q_DUMP, &family) < 0) {
        err = std::string("conntrack: dumping the table: ") + std::strerror(errno);
        return false;
    }
    nfct_callback_unregister(h.get());
    for (const auto& ct : st.matches) {
        if (nfct_query(h.get(), NFCT_Q_DESTROY, ct.get()) == 0) {
            ++deleted;
        } else if (errno != ENOENT) {
            err = std::string("conntrack: deleting a UDP flow of a removed endpoint: ") + std::strerror(errno);
            return false;
        }
    }
    return true;
}

}  // namespace nfgate::nft

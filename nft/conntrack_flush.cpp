#include "nft/conntrack_flush.hpp"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <set>

#include "model/endpoint_choice.hpp"

namespace nfgate::nft {
namespace {

// Every (frontend, endpoint keeping its flows) pair of the UDP ports of `services`, into `out`.
void udp_pairs(const Model& m, const std::vector<const Service*>& services, std::vector<StaleUdpFlow>& out) {
    for (const Service* s : services) {
        for (const auto& p : s->ports) {
            if (p.proto != Proto::udp) continue;
            auto add = [&](uint32_t ip, uint16_t port) {
                for (const auto& e : p.endpoints)
                    if (keeps_flows(e)) out.push_back(StaleUdpFlow{ip, port, e.ip, e.port});
            };
            for (uint32_t ip : s->cluster_ips) add(ip, p.port);
            for (uint32_t ip : s->external_ips) add(ip, p.port);
            for (uint32_t ip : s->lb_ips) add(ip, p.port);
            if (p.node_port != 0)
                for (uint32_t ip : m.node_addresses) add(ip, p.node_port);
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
}

struct DumpState {
    const std::set<StaleUdpFlow>* stale;
    std::vector<std::unique_ptr<nf_conntrack, decltype(&nfct_destroy)>> matches;
};

// The original direction keeps the frontend the client addressed; after DNAT the reply
// direction's source is the endpoint.
int collect(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
    auto* st = static_cast<DumpState*>(data);
    if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_UDP) return NFCT_CB_CONTINUE;
    StaleUdpFlow k{ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST)), ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)),
                   ntohl(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC)), ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC))};
    if (st->stale->count(k)) st->matches.emplace_back(nfct_clone(ct), &nfct_destroy);
    return NFCT_CB_CONTINUE;
}

}  // namespace

std::vector<StaleUdpFlow> stale_udp_flows(const Model& was, const std::vector<const Service*>& before,
                                          const Model& now, const std::vector<const Service*>& after) {
    std::vector<StaleUdpFlow> had, has, out;
    udp_pairs(was, before, had);
    if (had.empty()) return out;
    udp_pairs(now, after, has);
    std::set_difference(had.begin(), had.end(), has.begin(), has.end(), std::back_inserter(out));
    return out;
}

bool flush_udp_flows(const std::vector<StaleUdpFlow>& stale, size_t& deleted, std::string& err) {
    deleted = 0;
    if (stale.empty()) return true;
    std::set<StaleUdpFlow> keys(stale.begin(), stale.end());
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

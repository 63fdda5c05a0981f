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

// One family's fields, and how conntrack names its addresses.
struct V4 {
    using A = uint32_t;
    static constexpr uint8_t kFamily = AF_INET;
    static const std::vector<Endpoint>& endpoints(const ServicePort& p) { return p.endpoints; }
    static const std::vector<A>& cluster_ips(const Service& s) { return s.cluster_ips; }
    static const std::vector<A>& external_ips(const Service& s) { return s.external_ips; }
    static const std::vector<A>& lb_ips(const Service& s) { return s.lb_ips; }
    static const std::vector<A>& node_addresses(const Model& m) { return m.node_addresses; }
    static A orig_dst(const nf_conntrack* ct) { return ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST)); }
    static A reply_src(const nf_conntrack* ct) { return ntohl(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC)); }
};
struct V6 {
    using A = Ip6;
    static constexpr uint8_t kFamily = AF_INET6;
    static const std::vector<Endpoint6>& endpoints(const ServicePort& p) { return p.endpoints6; }
    static const std::vector<A>& cluster_ips(const Service& s) { return s.cluster_ips6; }
    static const std::vector<A>& external_ips(const Service& s) { return s.external_ips6; }
    static const std::vector<A>& lb_ips(const Service& s) { return s.lb_ips6; }
    static const std::vector<A>& node_addresses(const Model& m) { return m.node_addresses6; }
    static A orig_dst(const nf_conntrack* ct) { return Ip6::from(nfct_get_attr(ct, ATTR_ORIG_IPV6_DST)); }
    static A reply_src(const nf_conntrack* ct) { return Ip6::from(nfct_get_attr(ct, ATTR_REPL_IPV6_SRC)); }
};

// Every (frontend, endpoint keeping its flows) pair of the UDP ports of `services`, into `out`.
template <typename F>
void udp_pairs(const Model& m, const std::vector<const Service*>& services,
               std::vector<BasicStaleUdpFlow<typename F::A>>& out) {
    using A = typename F::A;
    for (const Service* s : services) {
        for (const auto& p : s->ports) {
            if (p.proto != Proto::udp) continue;
            auto add = [&](const A& ip, uint16_t port) {
                for (const auto& e : F::endpoints(p))
                    if (keeps_flows(e)) out.push_back(BasicStaleUdpFlow<A>{ip, port, e.ip, e.port});
            };
            for (const A& ip : F::cluster_ips(*s)) add(ip, p.port);
            for (const A& ip : F::external_ips(*s)) add(ip, p.port);
            for (const A& ip : F::lb_ips(*s)) add(ip, p.port);
            if (p.node_port != 0)
                for (const A& ip : F::node_addresses(m)) add(ip, p.node_port);
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
}

template <typename F>
struct DumpState {
    const std::set<BasicStaleUdpFlow<typename F::A>>* stale;
    std::vector<std::unique_ptr<nf_conntrack, decltype(&nfct_destroy)>> matches;
};

// The original direction keeps the frontend the client addressed; after DNAT the reply
// direction's source is the endpoint.
template <typename F>
int collect(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
    auto* st = static_cast<DumpState<F>*>(data);
    if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_UDP) return NFCT_CB_CONTINUE;
    BasicStaleUdpFlow<typename F::A> k{F::orig_dst(ct), ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)),
                                       F::reply_src(ct), ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC))};
    if (st->stale->count(k)) st->matches.emplace_back(nfct_clone(ct), &nfct_destroy);
    return NFCT_CB_CONTINUE;
}

template <typename F>
std::vector<BasicStaleUdpFlow<typename F::A>> stale_of(const Model& was, const std::vector<const Service*>& before,
                                                      const Model& now, const std::vector<const Service*>& after) {
    std::vector<BasicStaleUdpFlow<typename F::A>> had, has, out;
    udp_pairs<F>(was, before, had);
    if (had.empty()) return out;
    udp_pairs<F>(now, after, has);
    std::set_difference(had.begin(), had.end(), has.begin(), has.end(), std::back_inserter(out));
    return out;
}


}  // namespace

std::vector<StaleUdpFlow> stale_udp_flows(const Model& was, const std::vector<const Service*>& before,
                                          const Model& now, const std::vector<const Service*>& after) {
    return stale_of<V4>(was, before, now, after);
}

std::vector<StaleUdpFlow6> stale_udp_flows6(const Model& was, const std::vector<const Service*>& before,
                                            const Model& now, const std::vector<const Service*>& after) {
    return stale_of<V6>(was, before, now, after);
}

namespace {

template <typename F>
bool flush(const std::vector<BasicStaleUdpFlow<typename F::A>>& stale, size_t& deleted, std::string& err) {
    deleted = 0;
    if (stale.empty()) return true;
    std::set<BasicStaleUdpFlow<typename F::A>> keys(stale.begin(), stale.end());
    std::unique_ptr<nfct_handle, decltype(&nfct_close)> h(nfct_open(CONNTRACK, 0), &nfct_close);
    if (!h) {
        err = std::string("conntrack: opening the netlink handle: ") + std::strerror(errno);
        return false;
    }
    DumpState<F> st{&keys, {}};
    nfct_callback_register(h.get(), NFCT_T_ALL, collect<F>, &st);
    uint32_t family = F::kFamily;
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

}  // namespace

bool flush_udp_flows(const std::vector<StaleUdpFlow>& stale, size_t& deleted, std::string& err) {
    return flush<V4>(stale, deleted, err);
}

bool flush_udp_flows(const std::vector<StaleUdpFlow6>& stale, size_t& deleted, std::string& err) {
    return flush<V6>(stale, deleted, err);
}

}  // namespace nfgate::nft

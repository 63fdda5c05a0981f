#include "nft/flood_figures.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include <libnftnl/object.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "model/frontends.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_flood_render.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

namespace {

using ObjPtr = std::unique_ptr<nftnl_obj, decltype([](nftnl_obj* o) { nftnl_obj_free(o); })>;

std::string read_text(const char* path) {
    std::ifstream f(path);
    std::stringstream text;
    text << f.rdbuf();
    return text.str();
}

// The TCP frontends of each family (address, port).
struct TcpFrontends {
    std::set<std::pair<uint32_t, uint16_t>> v4;
    std::set<std::pair<Ip6, uint16_t>> v6;
};

struct HalfOpenCount {
    const TcpFrontends* frontends;
    uint64_t count = 0;
};

// Only the attributes the count needs: this runs once a second over a table a flood may fill.
int count_half_open(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
    auto* c = static_cast<HalfOpenCount*>(data);
    if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_TCP || !nfct_attr_is_set(ct, ATTR_TCP_STATE))
        return NFCT_CB_CONTINUE;
    const uint8_t state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
    if (state != TCP_CONNTRACK_SYN_SENT && state != TCP_CONNTRACK_SYN_RECV) return NFCT_CB_CONTINUE;
    const uint16_t dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
    if (nfct_get_attr_u8(ct, ATTR_L3PROTO) == AF_INET6) {
        if (c->frontends->v6.count({Ip6::from(nfct_get_attr(ct, ATTR_ORIG_IPV6_DST)), dport})) ++c->count;
        return NFCT_CB_CONTINUE;
    }
    const uint32_t dst = ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST));
    if (c->frontends->v4.count({dst, dport})) ++c->count;
    return NFCT_CB_CONTINUE;
}

bool dump_half_open(const TcpFrontends& frontends, uint64_t& out, std::string& err) {
    std::unique_ptr<nfct_handle, decltype(&nfct_close)> h(nfct_open(CONNTRACK, 0), &nfct_close);
    if (!h) {
        err = std::string("conntrack: opening the netlink handle: ") + std::strerror(errno);
        return false;
    }
    HalfOpenCount c{&frontends};
    nfct_callback_register(h.get(), NFCT_T_ALL, count_half_open, &c);
    // Both families in one dump (the IPv6 Services' flows are tracked in the same table).
    uint32_t family = AF_UNSPEC;
    const int rc = nfct_query(h.get(), NFCT_Q_DUMP, &family);
    nfct_callback_unregister(h.get());
    if (rc < 0) {
        err = std::string("conntrack: dump: ") + std::strerror(errno);
        return false;
    }
    out = c.count;
    return true;
}

int parse_obj(const nlmsghdr* nlh, void* data) {
    nftnl_obj_nlmsg_parse(nlh, static_cast<nftnl_obj*>(data));
    return MNL_CB_OK;
}

}  // namespace

std::optional<uint64_t> sum_proc_stat_column(std::string_view text, std::string_view column) {
    std::istringstream in{std::string(text)};
    std::string line, name;
    if (!std::getline(in, line)) return std::nullopt;
    std::istringstream header(line);
    size_t index = 0;
    bool found = false;
    for (; header >> name; ++index)
        if (name == column) {
            found = true;
            break;
        }
    if (!found) return std::nullopt;
    uint64_t sum = 0;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string v;
        for (size_t i = 0; i <= index && fields >> v; ++i)
            if (i == index) sum += std::stoull(v, nullptr, 16);
    }
    return sum;
}

std::optional<uint64_t> read_named_counter(const std::string& name, std::string& err) {
    std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req.data(), NFT_MSG_GETOBJ, NFPROTO_IPV4, NLM_F_ACK,
                                          static_cast<uint32_t>(time(nullptr)));
    ObjPtr o(nftnl_obj_alloc());
    nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, kTableName);
    nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, name.c_str());
    nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
    nftnl_obj_nlmsg_build_payload(nlh, o.get());
    ObjPtr got(nftnl_obj_alloc());
    std::string qerr;
    if (query(nlh, parse_obj, got.get(), MNL_SOCKET_BUFFER_SIZE, qerr) < 0 ||
        !nftnl_obj_is_set(got.get(), NFTNL_OBJ_CTR_PKTS)) {
        err = "counter " + name + ": " + (qerr.empty() ? std::string(std::strerror(errno)) : qerr);
        return std::nullopt;
    }
    return nftnl_obj_get_u64(got.get(), NFTNL_OBJ_CTR_PKTS);
}

bool read_flood_figures(const Model& m, FloodFigures& out, std::string& err) {
    out = {};
    TcpFrontends tcp;
    for (const Frontend& f : all_frontends(m)) {
        if (f.proto != Proto::tcp) continue;
        if (f.ipv6) tcp.v6.insert({f.ip6, f.port});
        else tcp.v4.insert({f.ip, f.port});
    }
    const bool dumped = dump_half_open(tcp, out.half_open, err);
    const std::string synproxy = read_text("/proc/net/stat/synproxy");
    out.syn_received = sum_proc_stat_column(synproxy, "syn_received").value_or(0);
    out.cookie_valid = sum_proc_stat_column(synproxy, "cookie_valid").value_or(0);
    out.cookie_invalid = sum_proc_stat_column(synproxy, "cookie_invalid").value_or(0);
    out.early_drop = sum_proc_stat_column(read_text("/proc/net/stat/nf_conntrack"), "early_drop").value_or(0);
    if (m.new_flows_per_source > 0) {
        std::string cerr;
        out.rate_limited = read_named_counter(kRateLimitedCounter, cerr);
    }
    return dumped;
}

}  // namespace nfgate::nft

#include "nft/flood_figures.hpp"

#include <libmnl/libmnl.h>
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
#include "nft/conntrack_dump.hpp"
#include "nft/nft_flood_render.hpp"
#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

namespace {

using SocketPtr = std::unique_ptr<mnl_socket, decltype([](mnl_socket* s) { mnl_socket_close(s); })>;
using ObjPtr = std::unique_ptr<nftnl_obj, decltype([](nftnl_obj* o) { nftnl_obj_free(o); })>;

std::string read_text(const char* path) {
    std::ifstream f(path);
    std::stringstream text;
    text << f.rdbuf();
    return text.str();
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
    SocketPtr nl(mnl_socket_open(NETLINK_NETFILTER));
    if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        err = std::string("netlink: ") + std::strerror(errno);
        return std::nullopt;
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    const uint32_t seq = static_cast<uint32_t>(time(nullptr));
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETOBJ, NFPROTO_IPV4, NLM_F_ACK, seq);
    ObjPtr o(nftnl_obj_alloc());
    nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, kTableName);
    nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, name.c_str());
    nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
    nftnl_obj_nlmsg_build_payload(nlh, o.get());
    if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) {
        err = "counter " + name + ": " + std::strerror(errno);
        return std::nullopt;
    }
    ObjPtr got(nftnl_obj_alloc());
    const uint32_t portid = mnl_socket_get_portid(nl.get());
    int ret;
    while ((ret = static_cast<int>(mnl_socket_recvfrom(nl.get(), buf.data(), buf.size()))) > 0) {
        ret = mnl_cb_run(buf.data(), static_cast<size_t>(ret), seq, portid, parse_obj, got.get());
        if (ret <= MNL_CB_STOP) break;
    }
    if (ret < 0 || !nftnl_obj_is_set(got.get(), NFTNL_OBJ_CTR_PKTS)) {
        err = "counter " + name + ": " + std::strerror(errno);
        return std::nullopt;
    }
    return nftnl_obj_get_u64(got.get(), NFTNL_OBJ_CTR_PKTS);
}

bool read_flood_figures(const Model& m, FloodFigures& out, std::string& err) {
    out = {};
    std::set<std::pair<uint32_t, uint16_t>> tcp;
    for (const Frontend& f : frontends(m))
        if (f.proto == Proto::tcp) tcp.insert({f.ip, f.port});
    const bool dumped = dump_kernel_flows(
        [&](const TrackedFlow& f) {
            if (f.proto == IPPROTO_TCP && (f.state == "SYN_SENT" || f.state == "SYN_RECV") &&
                tcp.count({f.orig.dst, f.orig.dport}))
                ++out.half_open;
            return true;
        },
        err);
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

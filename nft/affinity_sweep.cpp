#include "nft/affinity_sweep.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>

#include "model/endpoint_choice.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"

namespace nfgate::nft {

namespace {

using Chosen = std::vector<BasicEndpoint<Addr>>;

// A port's chosen endpoints of family `f` as Addr endpoints, sorted (addresses and ports only:
// a pin holds nothing else).
Chosen chosen_of(const ServicePort& p, Family f) {
    Chosen out;
    auto take = [&out](const auto& list) {
        for (const auto& e : list) out.push_back(BasicEndpoint<Addr>{Addr(e.ip), e.port, true});
    };
    if (f == Family::ip) take(chosen_endpoints(p));
    else take(chosen_endpoints6(p));
    std::sort(out.begin(), out.end());
    return out;
}

bool chooses(const Chosen& list, const Addr& ip, uint16_t port) {
    return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.ip == ip && e.port == port; });
}

using SetPtr = std::unique_ptr<nftnl_set, decltype([](nftnl_set* s) { nftnl_set_free(s); })>;
using IterPtr = std::unique_ptr<nftnl_set_elems_iter, decltype([](nftnl_set_elems_iter* i) { nftnl_set_elems_iter_destroy(i); })>;

int parse_elems(const nlmsghdr* nlh, void* data) {
    nftnl_set_elems_nlmsg_parse(nlh, static_cast<nftnl_set*>(data));
    return MNL_CB_OK;
}

// An address as the map's key and data hold it: 4 bytes (IPv4) or 16, network order.
bool read_addr(const uint8_t* p, uint32_t len, bool six, Addr& a) {
    if (len < (six ? 16u : 4u)) return false;
    if (six) {
        a = Addr(Ip6::from(p));
    } else {
        uint32_t be;
        std::memcpy(&be, p, 4);
        a = Addr(ntohl(be));
    }
    return true;
}

// The clients of `k.map` pinned to an endpoint outside k.keep. False with `err` when the map
// cannot be read; a map that is gone holds no pins.
bool stale_pins(const AffinityKeep& k, std::vector<SetElem>& out, std::string& err) {
    const bool six = k.family == Family::ip6;
    std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req.data(), NFT_MSG_GETSETELEM, six ? NFPROTO_IPV6 : NFPROTO_IPV4,
                                          NLM_F_DUMP | NLM_F_ACK, static_cast<uint32_t>(time(nullptr)));
    SetPtr s(nftnl_set_alloc());
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, k.map.c_str());
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    std::string qerr;
    if (query(nlh, parse_elems, s.get(), MNL_SOCKET_BUFFER_SIZE * 4, qerr) < 0) {
        if (errno == ENOENT) return true;
        err = "read affinity map " + std::string(six ? "ip6 " : "ip ") + k.map + ": " + (qerr.empty() ? std::strerror(errno) : qerr);
        return false;
    }
    const uint32_t alen = six ? 16 : 4;
    IterPtr it(nftnl_set_elems_iter_create(s.get()));
    for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e != nullptr; e = nftnl_set_elems_iter_next(it.get())) {
        uint32_t klen = 0, dlen = 0;
        const auto* key = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen));
        const auto* data = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen));
        Addr client, ip;
        if (key == nullptr || data == nullptr || dlen < alen + 2 || !read_addr(key, klen, six, client) ||
            !read_addr(data, dlen, six, ip))
            continue;
        uint16_t port_be;
        std::memcpy(&port_be, data + alen, 2);
        if (!chooses(k.keep, ip, ntohs(port_be))) out.push_back(SetElem{client, Proto::tcp, 0, 0, {}, {}});
    }
    return true;
}

}  // namespace

std::vector<AffinityKeep> shrunk_affinity_maps(const std::vector<const Service*>& before,
                                               const std::vector<const Service*>& after) {
    std::map<std::pair<std::string, Family>, Chosen> was;
    for (const Service* s : before) {
        if (!s->affinity_client_ip) continue;
        for (const auto& p : s->ports)
            for (Family f : {Family::ip, Family::ip6})
                was[{affinity_map_name(*s, p, s->affinity_timeout_s), f}] = chosen_of(p, f);
    }
    std::vector<AffinityKeep> out;
    for (const Service* s : after) {
        if (!s->affinity_client_ip) continue;
        for (const auto& p : s->ports)
            for (Family f : {Family::ip, Family::ip6}) {
                const std::string map = affinity_map_name(*s, p, s->affinity_timeout_s);
                auto old = was.find({map, f});
                Chosen now = chosen_of(p, f);
                if (old == was.end() || now.empty()) continue;  // a new map, or none rendered now
                const bool lost = std::any_of(old->second.begin(), old->second.end(),
                                              [&](const auto& e) { return !chooses(now, e.ip, e.port); });
                if (lost) out.push_back(AffinityKeep{map, f, std::move(now)});
            }
    }
    return out;
}

bool sweep_affinity(const std::vector<AffinityKeep>& maps, size_t& deleted, std::string& err) {
    for (const AffinityKeep& k : maps) {
        // A pin can time out between the reading and the deletion, and the kernel refuses a
        // batch that deletes a missing element: read again and retry on what is left.
        for (int attempt = 0;; ++attempt) {
            std::vector<SetElem> stale;
            if (!stale_pins(k, stale, err)) return false;
            if (stale.empty()) break;
            const Set map{k.map, KeyKind::addr, false, 1, {}};
            Plan plan;
            plan.family = k.family;
            plan.ops.push_back(Op{OpKind::delete_elems, &map, nullptr, nullptr, std::move(stale), nullptr});
            const size_t n = plan.ops.front().elems.size();
            Batch b = build_batch(plan, next_batch_seq(static_cast<uint32_t>(n + 2)));
            std::string berr;
            if (send_batch(b, berr)) {
                deleted += n;
                break;
            }
            if (attempt == 2) {
                err = "kernel path: affinity map " + k.map + ": " + berr;
                return false;
            }
        }
    }
    return true;
}

}  // namespace nfgate::nft

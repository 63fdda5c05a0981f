#include "nft/affinity_sweep.hpp"

#include <arpa/inet.h>
#include <libnftnl/set.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "model/endpoint_choice.hpp"
#include "nft/netlink.hpp"
#include "nft/nft_batch.hpp"
#include "nft/nft_plan.hpp"
#include "nft/nft_render.hpp"
#include "nft/set_elements.hpp"

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

// The clients of `k.map` pinned to an endpoint outside k.keep. False with `err` when the map
// cannot be read; a map that is gone holds no pins.
bool stale_pins(const AffinityKeep& k, std::vector<SetElem>& out, std::string& err) {
    const uint32_t alen = k.family == Family::ip6 ? 16 : 4;
    std::string derr;
    const bool read = dump_set_elements(k.map, k.family, [&](nftnl_set_elem* e) {
        uint32_t klen = 0, dlen = 0;
        const auto* key = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen));
        const auto* data = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen));
        if (key == nullptr || data == nullptr || klen < alen || dlen < alen + 2) return;
        uint16_t port_be;
        std::memcpy(&port_be, data + alen, 2);
        if (!chooses(k.keep, addr_from_set(data, k.family), ntohs(port_be)))
            out.push_back(SetElem{addr_from_set(key, k.family), Proto::tcp, 0, 0, {}, {}});
    }, derr);
    if (read || errno == ENOENT) return true;
    err = "affinity: " + derr;
    return false;
}

}  // namespace

std::vector<AffinityKeep> shrunk_affinity_maps(const std::vector<const Service*>& before,
                                               const std::vector<const Service*>& after) {
    std::map<std::pair<std::string, Family>, Chosen> was;
    for (const Service* s : before) {
        if (!s->affinity_client_ip) continue;
        for (const auto& p : s->ports) {
            const std::string map = affinity_map_name(*s, p, s->affinity_timeout_s);
            for (Family f : {Family::ip, Family::ip6}) was[{map, f}] = chosen_of(p, f);
        }
    }
    std::vector<AffinityKeep> out;
    for (const Service* s : after) {
        if (!s->affinity_client_ip) continue;
        for (const auto& p : s->ports) {
            const std::string map = affinity_map_name(*s, p, s->affinity_timeout_s);
            for (Family f : {Family::ip, Family::ip6}) {
                auto old = was.find({map, f});
                Chosen now = chosen_of(p, f);
                if (old == was.end() || now.empty()) continue;  // a new map, or none rendered now
                const bool lost = std::any_of(old->second.begin(), old->second.end(),
                                              [&](const auto& e) { return !chooses(now, e.ip, e.port); });
                if (lost) out.push_back(AffinityKeep{map, f, std::move(now)});
            }
        }
    }
    return out;
}

bool sweep_affinity(const std::vector<AffinityKeep>& maps, std::string& err) {
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
            if (send_batch(b, berr)) break;
            if (attempt == 2) {
                err = "kernel path: affinity map " + k.map + ": " + berr;
                return false;
            }
        }
    }
    return true;
}

}  // namespace nfgate::nft

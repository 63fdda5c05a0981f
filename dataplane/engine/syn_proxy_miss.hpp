// The SYN proxy's side of a TCP flow-table miss (syn_proxy.hpp), for both families' new-flow
// paths (new_flow.cpp, ipv6_flow.cpp): a SYN to a frontend while the proxy is on is answered
// with a cookie and creates nothing; an ACK that returns a valid cookie (checked whether the
// proxy is on or not, so handshakes in flight when it goes off still complete) stands for the
// client's SYN, and once its flow is inserted it becomes the SYN to the backend.
#pragma once

#include <rte_byteorder.h>
#include <rte_tcp.h>

#include <cstdint>

#include "dataplane/engine/slow_path.hpp"
#include "dataplane/engine/syn_proxy.hpp"

namespace nfgate::engine {

struct CookieAck {
    bool valid = false;
    uint32_t client_isn = 0, cookie = 0;
    uint16_t mss = 0;
};

template <class Meta>
bool answers_with_cookie(const SlowCtx& c, const Meta& pm) {
    return pm.proto == net::kProtoTcp && c.worker.shared.syn_proxy() &&
           (pm.tcp_flags & (net::kTcpSyn | net::kTcpAck | net::kTcpRst | net::kTcpFin)) == net::kTcpSyn;
}

// The cookie a SYN is answered with, and (`mss`) the MSS its class stands for.
template <class Meta>
uint32_t cookie_for_syn(const SlowCtx& c, const Meta& pm, uint16_t& mss) {
    const uint8_t mss_class = cookie_mss_class(tcp_mss_option(pm));
    mss = kCookieMss[mss_class];
    const uint32_t client_isn = rte_be_to_cpu_32(reinterpret_cast<const rte_tcp_hdr*>(pm.l4)->sent_seq);
    return make_cookie(c.worker.shared.cookie_key(), cookie_tuple(pm), client_isn, c.now_s, mss_class);
}

template <class Meta>
CookieAck cookie_ack(const SlowCtx& c, const Meta& pm) {
    CookieAck a;
    if (pm.proto == net::kProtoTcp)
        a.valid = returns_cookie(c.worker.shared.cookie_key(), pm, c.now_s, a.client_isn, a.cookie, a.mss);
    return a;
}

// The flow a returned cookie opened was inserted (`fresh`: by this packet): the client's ACK
// turns into the SYN to the backend. False with `why` when the packet is to be dropped: a second
// segment returning the cookie (data right behind the handshake's ACK, in the same burst) finds
// the flow made and waits like any segment before the backend answers.
template <class Table, class Meta>
bool proxied_open(SlowCtx& c, Table& flows, typename Table::Entry& e, bool fresh, rte_mbuf* m, Meta& pm,
                  const CookieAck& a, Reason& why) {
    why = Reason::syn_proxy_pending;
    if (!fresh) return false;
    if (!ack_to_backend_syn(m, pm, a.client_isn, a.mss)) {
        flows.unlink(e);
        return false;
    }
    c.counters.count(Reason::syn_proxy_opened);
    return true;
}

}  // namespace nfgate::engine

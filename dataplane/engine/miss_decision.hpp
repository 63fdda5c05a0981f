// The decisions a flow-table miss takes before anything is written: what kind of packet this
// is for the gateway, and for a Service which backend and whether to masquerade. Pure reads of
// the ServiceTable (and, for affinity, a lookup without refresh), so the worker's miss path
// (new_flow.cpp) and `nfgatectl trace` (trace.cpp) run the same code.
#pragma once

#include <cstdint>

#include "dataplane/engine/affinity_table.hpp"
#include "dataplane/engine/backend_pick.hpp"
#include "dataplane/engine/drop_reasons.hpp"
#include "dataplane/engine/service_table.hpp"

namespace nfgate::engine {

enum class MissKind : uint8_t {
    echo_to_gateway,       // ping of a gateway address: answered
    service,               // a Service frontend: new service flow
    dropped,               // MissDecision::reason says why
    to_kernel,             // the gateway's own address, not served here: its kernel's (reason: without one)
    rejected,              // allocated ClusterIP on a port no Service serves: reset / unreachable
    egress_masquerade,     // pod -> outside nonMasqueradeCIDRs: SNAT flow
    passthrough,           // outside -> pod: tracked untranslated (its replies are not egress)
    forward,               // routed untouched
};

struct MissDecision {
    MissKind kind = MissKind::forward;
    Reason reason{};    // kind == dropped
    ServiceMatch match; // kind == service
};

// Host-order addresses; `icmp_type` only for ICMP.
MissDecision decide_miss(const ServiceTable& st, uint32_t src, uint32_t dst, uint8_t proto, uint16_t dport,
                         uint8_t icmp_type);

// Before a backend is chosen: a TCP packet that cannot open a connection, a client outside
// loadBalancerSourceRanges. `ok` with no reason: go on (reject when there is no backend).
bool service_admits(const ServiceMatch& sm, uint32_t client, uint8_t proto, uint8_t tcp_flags, Reason& why);

// The backend an affinity entry still valid in `p` pins `client` to; nullptr when none.
const Backend* pinned_backend(const AffinityTable& aff, const ServicePortEntry& p, uint32_t client, uint32_t now_s);

// Maglev's choice for the flow's hash.
inline const Backend& hashed_backend(const ServicePortEntry& p, uint32_t flow_hash) {
    return p.backends[pick_backend(p, flow_hash)];
}

// Replies must come back through the gateway unless the client is a pod (kube-proxy keeps
// in-cluster sources) or externalTrafficPolicy: Local asks for the client address; a pod
// reaching itself through its Service (hairpin) must see the gateway as the peer.
inline bool service_needs_snat(const ServiceTable& st, const ServiceMatch& sm, uint32_t client, uint32_t backend_ip) {
    const bool external_kind = sm.kind != VipKind::cluster_ip;
    return st.masquerade_all() || (!st.in_cluster(client) && !(sm.port->etp_local && external_kind)) ||
           backend_ip == client;
}

bool tcp_opens(uint8_t flags);

// A TCP segment of a connection this gateway never saw (ECMP moved it here, or the gateway it
// started on went away) that is picked up mid-stream, as Maglev and Katran do: an ACK without
// SYN/RST/FIN to an external frontend (LB IP, externalIP, NodePort) of an
// externalTrafficPolicy: Local port. Such a connection has no SNAT, so its packets carry the
// client's own address, and its endpoint is the Maglev pick every gateway with the same
// endpoints makes. (A connection that needed SNAT cannot move: its port lives on the other box.)
bool tcp_picks_up(const ServiceMatch& sm, uint8_t flags);

}  // namespace nfgate::engine

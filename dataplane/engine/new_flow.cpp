// The flow-table miss path: answers for the gateway's own addresses, new Service flows (source
// ranges, reject without endpoints, Maglev/affinity backend choice, masquerade decision, SNAT
// port, insert under both keys), pod egress masquerade, and plain routing of the rest.
#include <algorithm>

#include "dataplane/conntrack/snat_ports.hpp"
#include "dataplane/engine/backend_pick.hpp"
#include "dataplane/engine/flow_rewrite.hpp"
#include "dataplane/engine/fragment_table.hpp"
#include "dataplane/engine/icmp_answer.hpp"
#include "dataplane/engine/slow_path.hpp"

namespace nfgate::engine {

namespace {

// A clashing reply tuple means the SNAT port is taken for that peer by another flow: a few more
// ports are tried before the packet is refused.
constexpr unsigned kSnatAttempts = 8;

bool tcp_opens(uint8_t flags) {
    return (flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) == RTE_TCP_SYN_FLAG;
}

// "A Service with no ready endpoints rejects": TCP reset, otherwise ICMP port unreachable
// from the address the client used.
Fate reject(SlowCtx& c, rte_mbuf* m, const PacketMeta& pm) {
    const IfaceInfo& in = c.st.ifaces()[c.in_port];
    if (pm.proto == kProtoTcp) {
        if (pm.tcp_flags & RTE_TCP_RST_FLAG) return c.drop(Reason::tcp_invalid_no_syn);  // never answer a reset
        return make_tcp_reset(m, pm, in) ? c.answer(Reason::reset_sent) : c.drop(Reason::reject_not_sent);
    }
    const bool ok = make_icmp_error(m, pm, kIcmpDestUnreachable, kIcmpCodePortUnreachable, rte_be_to_cpu_32(pm.dst), in);
    return ok ? c.answer(Reason::port_unreachable_sent) : c.drop(Reason::reject_not_sent);
}

// Inserts `fi`, taking a SNAT port from `pool` first when pool >= 0. nullptr with `why` set
// when the flow cannot be created.
ct::FlowEntry* insert_flow(SlowCtx& c, ct::FlowInit& fi, int pool, Reason& why) {
    ct::SnatPorts& snat = c.worker.shared.snat();
    const uint8_t proto = fi.orig.proto;
    for (unsigned attempt = 0; attempt < kSnatAttempts; ++attempt) {
        uint16_t port = 0;
        if (pool >= 0) {
            if (!snat.acquire(c.worker.id, static_cast<uint16_t>(pool), proto, port)) {
                why = Reason::snat_ports_exhausted;
                return nullptr;
            }
            fi.reply.dst_port = port;
            if (proto == kProtoIcmp) fi.reply.src_port = port;  // echo id stands for both ports
            fi.snat_pool = static_cast<uint16_t>(pool);
            fi.snat_port = port;
        }
        const ct::InsertResult r = c.worker.flows.insert(c.worker.id, fi, c.now_s);
        if (r.status == ct::InsertStatus::inserted) {
            ++c.counters.flows_created;
            return r.entry;
        }
        if (pool >= 0) snat.release(c.worker.id, static_cast<uint16_t>(pool), proto, port);
        switch (r.status) {
            case ct::InsertStatus::exists: return r.entry;
            case ct::InsertStatus::clash:
                if (pool >= 0) continue;
                why = Reason::flow_clash;
                return nullptr;
            case ct::InsertStatus::full: why = Reason::flow_table_full; return nullptr;
            case ct::InsertStatus::busy: why = Reason::flow_insert_busy; return nullptr;
            default: why = Reason::tcp_invalid_no_syn; return nullptr;
        }
    }
    why = Reason::flow_clash;
    return nullptr;
}

// Pool of the gateway address on the interface that leads to `toward` (host order); -1 when
// there is no route.
int egress_pool(SlowCtx& c, uint32_t toward, uint32_t& addr_be) {
    NextHop nh;
    if (!c.st.routes().lookup(toward, nh)) return -1;
    addr_be = rte_cpu_to_be_32(c.st.ifaces()[nh.port].ip);
    return c.worker.shared.snat().pool_of(addr_be);
}

const Backend& choose_backend(SlowCtx& c, const ServicePortEntry& p, uint32_t client, const ct::FlowKey& orig) {
    AffinityTable& aff = c.worker.shared.affinity();
    if (p.affinity_client_ip) {
        Backend pinned;
        if (aff.find(client, p.id, c.now_s, pinned.ip, pinned.port)) {
            if (const Backend* it = p.find_backend(pinned.ip, pinned.port)) {
                aff.remember(client, p.id, it->ip, it->port, c.now_s, p.affinity_timeout_s);
                return *it;
            }
        }
    }
    const Backend& b = p.backends[pick_backend(p, static_cast<uint32_t>(ct::flow_hash(orig)))];
    if (p.affinity_client_ip) aff.remember(client, p.id, b.ip, b.port, c.now_s, p.affinity_timeout_s);
    return b;
}

Fate new_service_flow(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, const ServiceMatch& sm, CsumDelta& ip_delta) {
    const ServicePortEntry& p = *sm.port;
    const uint32_t client = rte_be_to_cpu_32(pm.src);
    if (pm.proto == kProtoTcp && !tcp_opens(pm.tcp_flags)) return c.drop(Reason::tcp_invalid_no_syn);
    if (sm.kind == VipKind::lb_ip && !p.source_allowed(client)) return c.drop(Reason::source_range_denied);
    if (p.backends.empty()) return reject(c, m, pm);

    const ct::FlowKey orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
    const Backend& b = choose_backend(c, p, client, orig);
    // Replies must come back through the gateway unless the client is a pod (kube-proxy keeps
    // in-cluster sources) or externalTrafficPolicy: Local asks for the client address.
    const bool external_kind = sm.kind != VipKind::cluster_ip;
    // A pod reaching itself through its Service (hairpin) must see the gateway as the peer, or
    // its reply would bypass the translation.
    const bool snat = c.st.masquerade_all() || (!c.st.in_cluster(client) && !(p.etp_local && external_kind)) ||
                      b.ip == client;
    uint32_t snat_addr_be = 0;
    const int pool = egress_pool(c, b.ip, snat_addr_be);
    if (pool < 0 && snat) return c.drop(Reason::no_route);

    ct::FlowInit fi;
    fi.orig = orig;
    fi.reply = ct::make_key(rte_cpu_to_be_32(b.ip), snat ? snat_addr_be : pm.src, rte_cpu_to_be_16(b.port), pm.sport,
                            pm.proto);
    fi.tcp_flags = pm.tcp_flags;
    fi.tag = kFlowService;
    Reason why{};
    ct::FlowEntry* e = insert_flow(c, fi, snat ? pool : -1, why);
    if (e == nullptr) return c.drop(why);
    rewrite_flow(pm, *e, ct::Dir::orig, ip_delta);
    ++c.counters.forwarded_nat;
    return Fate::forward;
}

Fate new_masquerade_flow(SlowCtx& c, PacketMeta& pm, CsumDelta& ip_delta) {
    if (pm.proto == kProtoTcp && !tcp_opens(pm.tcp_flags)) return c.drop(Reason::tcp_invalid_no_syn);
    uint32_t snat_addr_be = 0;
    const int pool = egress_pool(c, rte_be_to_cpu_32(pm.dst), snat_addr_be);
    if (pool < 0) return c.drop(Reason::no_route);
    ct::FlowInit fi;
    fi.orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
    fi.reply = ct::make_key(pm.dst, snat_addr_be, pm.dport, pm.sport, pm.proto);
    fi.tcp_flags = pm.tcp_flags;
    Reason why{};
    ct::FlowEntry* e = insert_flow(c, fi, pool, why);
    if (e == nullptr) return c.drop(why);
    rewrite_flow(pm, *e, ct::Dir::orig, ip_delta);
    ++c.counters.forwarded_nat;
    return Fate::forward;
}

// A connection opened from outside to a pod is routed untouched, but its replies look like pod
// egress: tracked without translation (as the kernel's conntrack would hold it), they match
// this flow instead of being masqueraded or refused as mid-stream.
Fate new_passthrough_flow(SlowCtx& c, PacketMeta& pm) {
    const bool opens = pm.proto == kProtoUdp || (pm.proto == kProtoTcp && tcp_opens(pm.tcp_flags));
    if (opens) {
        ct::FlowInit fi;
        fi.orig = ct::make_key(pm.src, pm.dst, pm.sport, pm.dport, pm.proto);
        fi.reply = fi.orig.reversed();
        fi.tcp_flags = pm.tcp_flags;
        fi.tag = kFlowPassthrough;
        Reason why{};
        // A refused insert still routes this packet; only its replies would then be masqueraded.
        if (insert_flow(c, fi, -1, why) == nullptr) c.counters.count(why);
    }
    ++c.counters.forwarded_plain;
    return Fate::forward;
}

Fate flow_miss_fate(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, CsumDelta& ip_delta) {
    const uint32_t src = rte_be_to_cpu_32(pm.src);
    const uint32_t dst = rte_be_to_cpu_32(pm.dst);
    const bool local = c.st.is_local(dst);
    const bool icmp = pm.proto == kProtoIcmp;
    if (icmp && local) {
        if (pm.icmp_type != kIcmpEchoRequest) return c.drop(Reason::icmp_untracked);
        return make_echo_reply(m, pm, c.st.ifaces()[c.in_port]) ? c.answer(Reason::echo_reply_sent)
                                                                : c.drop(Reason::icmp_untracked);
    }
    if (!icmp) {
        const ServiceMatch sm = c.st.lookup(dst, pm.proto, rte_be_to_cpu_16(pm.dport));
        if (sm.port != nullptr) return new_service_flow(c, m, pm, sm, ip_delta);
    }
    if (local) return c.drop(Reason::local_delivery_unsupported);
    if (c.st.is_service_address(dst)) {
        // kube-proxy rejects an allocated ClusterIP on a port no Service serves.
        if (c.st.is_cluster_ip(dst) && !icmp) return reject(c, m, pm);
        return c.drop(icmp ? Reason::icmp_untracked : Reason::local_delivery_unsupported);
    }
    if (c.st.in_service_cidrs(dst)) return c.drop(Reason::unallocated_cluster_ip);
    if (!ip_is_unicast(dst)) return c.drop(Reason::ip_not_unicast);
    if (c.st.egress_masquerade(src, dst) && (!icmp || pm.icmp_type == kIcmpEchoRequest))
        return new_masquerade_flow(c, pm, ip_delta);
    if (!icmp && c.st.egress_masquerade(dst, src)) return new_passthrough_flow(c, pm);
    ++c.counters.forwarded_plain;
    return Fate::forward;
}

}  // namespace

Fate on_flow_miss(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, CsumDelta& ip_delta) {
    const uint32_t orig_src = pm.src, orig_dst = pm.dst;
    const Fate f = flow_miss_fate(c, m, pm, ip_delta);
    // The later fragments of a forwarded first fragment leave with the same addresses.
    if (pm.fragment && f == Fate::forward)
        remember_first_fragment(c.worker.fragments, c.counters, orig_src, orig_dst, pm.ip, c.now_ns);
    return f;
}

}  // namespace nfgate::engine

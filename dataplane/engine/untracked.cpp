// Call-outs for frames that never touch the flow table: ARP and malformed frames, expiring
// TTLs, fragments other than a TCP/UDP first fragment, and non-echo ICMP.
#include "dataplane/engine/arp.hpp"
#include "dataplane/engine/fragment_table.hpp"
#include "dataplane/engine/icmp_answer.hpp"
#include "dataplane/engine/icmp_error_nat.hpp"
#include "dataplane/engine/slow_path.hpp"

namespace nfgate::engine {

namespace {

// Whether a packet between these addresses would be NAT-translated if it were not a fragment.
bool nat_relevant(const ServiceTable& st, uint32_t src, uint32_t dst) {
    return st.is_local(dst) || st.is_service_address(dst) || st.in_service_cidrs(dst) ||
           st.egress_masquerade(src, dst);
}

Fate ttl_expired(SlowCtx& c, rte_mbuf* m, const PacketMeta& pm) {
    // RFC 1812 4.3.2.7: no ICMP error about an ICMP error or about a non-initial fragment.
    if (pm.later_fragment || (pm.proto == net::kProtoIcmp && icmp_is_error(pm.icmp_type)))
        return c.drop(Reason::ttl_expired);
    const IfaceInfo& in = c.st.ifaces()[c.in_port];
    if (!make_icmp_error(m, pm, net::kIcmpTimeExceeded, net::kIcmpCodeTtlExceeded, in.ip, in))
        return c.drop(Reason::ttl_expired);
    return c.answer(Reason::ttl_exceeded_sent);
}

// Fragments outside the flow-table path: later fragments take the addresses their first
// fragment left with (fragment_table.hpp). Without a known first fragment, NAT traffic is
// dropped rather than leak untranslated; the rest is routed untouched.
Fate on_fragment(SlowCtx& c, PacketMeta& pm, net::CsumDelta& ip_delta, bool nat) {
    if (pm.later_fragment) {
        const FragmentTable::Translation* t =
            c.worker.fragments.find(FragmentTable::key_of(pm.ip), c.now_ns);
        if (t != nullptr) {
            const bool changed = t->src != pm.src || t->dst != pm.dst;
            translate_later_fragment(pm.ip, *t, ip_delta);
            pm.src = t->src;
            pm.dst = t->dst;
            ++(changed ? c.counters.forwarded_nat : c.counters.forwarded_plain);
            return Fate::forward;
        }
        if (nat) return c.drop(Reason::fragment_without_first);
    } else if (nat) {
        return c.drop(Reason::fragment_of_nat_flow);
    }
    if (!ip_is_unicast(rte_be_to_cpu_32(pm.dst))) return c.drop(Reason::ip_not_unicast);
    ++c.counters.forwarded_plain;
    return Fate::forward;
}

}  // namespace

Fate on_not_ipv4(SlowCtx& c, rte_mbuf* m, L3Kind kind, Reason parse_error) {
    if (kind == L3Kind::ipv6) return on_ipv6(c, m);
    if (kind != L3Kind::arp) return c.drop(parse_error);
    bool not_learnt = false;
    const Reason r = handle_arp(c.st, c.worker.shared.neighbours(), m, c.in_port, c.now_s, not_learnt);
    if (not_learnt) c.counters.count(Reason::neighbour_table_full);
    if (r == Reason::arp_reply_sent) return c.answer(r);
    // The kernel behind the exception path asks for its own neighbours: it hears the answers.
    if (r == Reason::arp_learned && c.worker.exceptions.attached()) return Fate::kernel;
    return c.drop(r);
}

Fate on_untracked(SlowCtx& c, rte_mbuf* m, PacketMeta& pm, net::CsumDelta& ip_delta) {
    const uint32_t src = rte_be_to_cpu_32(pm.src);
    const uint32_t dst = rte_be_to_cpu_32(pm.dst);
    if (martian_source(c.st, src)) return c.drop(Reason::martian_source);
    if (martian_destination(dst)) return c.drop(Reason::martian_destination);
    const bool local = c.st.is_local(dst);
    if (!local && pm.ip->time_to_live <= 1) return ttl_expired(c, m, pm);
    if (pm.fragment) return on_fragment(c, pm, ip_delta, nat_relevant(c.st, src, dst));
    if (pm.proto == net::kProtoIcmp && icmp_is_error(pm.icmp_type)) return on_icmp_error(c, pm, ip_delta);
    if (local) return c.to_kernel(pm.proto == net::kProtoIcmp ? Reason::icmp_untracked : Reason::local_delivery_unsupported);
    if (!ip_is_unicast(dst)) return c.drop(Reason::ip_not_unicast);
    if (nat_relevant(c.st, src, dst))
        return c.drop(pm.proto == net::kProtoIcmp ? Reason::icmp_untracked : Reason::unsupported_protocol);
    ++c.counters.forwarded_plain;
    return Fate::forward;
}

}  // namespace nfgate::engine

#include "nft/conntrack_dump.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

namespace nfgate::nft {

namespace {

struct DumpState {
    const std::function<bool(const TrackedFlow&)>* visit;
    bool stopped = false;
    uint64_t now_ns = 0;
};

const char* tcp_state_name(uint8_t s) {
    // The kernel's TCP_CONNTRACK_* order (include/uapi/linux/netfilter/nf_conntrack_tcp.h).
    static const char* const names[] = {"NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
                                        "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2"};
    return s < sizeof names / sizeof names[0] ? names[s] : "UNKNOWN";
}

FlowTuple tuple(const nf_conntrack* ct, bool orig, bool ipv6, uint8_t proto) {
    FlowTuple t;
    if (ipv6) {
        // 16 bytes in network order, as model/ip6.hpp keeps them.
        t.src6 = Ip6::from(nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_SRC : ATTR_REPL_IPV6_SRC));
        t.dst6 = Ip6::from(nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_DST : ATTR_REPL_IPV6_DST));
    } else {
        t.src = ntohl(nfct_get_attr_u32(ct, orig ? ATTR_ORIG_IPV4_SRC : ATTR_REPL_IPV4_SRC));
        t.dst = ntohl(nfct_get_attr_u32(ct, orig ? ATTR_ORIG_IPV4_DST : ATTR_REPL_IPV4_DST));
    }
    if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
        t.sport = t.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID));  // one id both ways
    } else {
        t.sport = ntohs(nfct_get_attr_u16(ct, orig ? ATTR_ORIG_PORT_SRC : ATTR_REPL_PORT_SRC));
        t.dport = ntohs(nfct_get_attr_u16(ct, orig ? ATTR_ORIG_PORT_DST : ATTR_REPL_PORT_DST));
    }
    return t;
}

int on_entry(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
    auto* st = static_cast<DumpState*>(data);
    const uint8_t family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    if (family != AF_INET && family != AF_INET6) return NFCT_CB_CONTINUE;
    const bool ipv6 = family == AF_INET6;
    const uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
    const int icmp = ipv6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != icmp) return NFCT_CB_CONTINUE;
    TrackedFlow f;
    f.proto = proto;
    f.ipv6 = ipv6;
    f.orig = tuple(ct, true, ipv6, proto);
    f.reply = tuple(ct, false, ipv6, proto);
    const uint32_t status = nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
    if (proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE))
        f.state = tcp_state_name(nfct_get_attr_u8(ct, ATTR_TCP_STATE));
    else
        f.state = (status & IPS_ASSURED) ? "ASSURED" : (status & IPS_SEEN_REPLY) ? "REPLIED" : "UNREPLIED";
    if (nfct_attr_is_set(ct, ATTR_TIMEOUT)) f.timeout_s = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
    // Start times exist only with net.netfilter.nf_conntrack_timestamp=1; counters only with
    // nf_conntrack_acct=1. Without them the listing says null rather than a made-up zero.
    if (nfct_attr_is_set(ct, ATTR_TIMESTAMP_START) && st->now_ns != 0) {
        const uint64_t start = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START);
        if (start != 0 && start <= st->now_ns) f.age_s = static_cast<uint32_t>((st->now_ns - start) / 1000000000ull);
    }
    if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_PACKETS)) {
        f.packets = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS) + nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
        f.bytes = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES) + nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
    }
    if (!(*st->visit)(f)) {
        st->stopped = true;
        return NFCT_CB_STOP;
    }
    return NFCT_CB_CONTINUE;
}

}  // namespace

bool dump_kernel_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) {
    std::unique_ptr<nfct_handle, decltype(&nfct_close)> h(nfct_open(CONNTRACK, 0), &nfct_close);
    if (!h) {
        err = std::string("conntrack: opening the netlink handle: ") + std::strerror(errno);
        return false;
    }
    DumpState st{&visit};
    // The kernel stamps flow starts with the real-time clock (ktime_get_real_ns).
    timespec ts{};
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
        st.now_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
    nfct_callback_register(h.get(), NFCT_T_ALL, on_entry, &st);
    // Both families in one dump: the kernel filters a dump by family only when one is named.
    uint32_t family = AF_UNSPEC;
    const int rc = nfct_query(h.get(), NFCT_Q_DUMP, &family);
    nfct_callback_unregister(h.get());
    if (rc < 0 && !st.stopped) {
        err = std::string("conntrack: dumping the table: ") + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace nfgate::nft

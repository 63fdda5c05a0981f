// libFuzzer target: the real burst function (engine::process_burst) on arbitrary frames, with
// its state carried from input to input (one flow table, neighbour table, fragment table and
// ServiceTable for the whole run, the bench gateway of tests/engine/lab_model.cpp), under
// ASan+UBSan. Invariants checked after every burst:
//  - every frame received is counted (rx), and every frame the engine frees has a counted reason;
//  - every transmitted frame is one whole segment with coherent lengths: an IPv4 packet's total
//    length is the frame's length past the Ethernet header, its header checksum is right, and
//    when every input of the burst carried right checksums, so does each output's TCP/UDP/ICMP
//    checksum (fragments excepted: their L4 checksum covers the whole datagram);
//  - no mbuf leaks: the pool's in-use count stays bounded (what the engine may hold is bounded).
//
// Input: records of [control][length lo][length hi][frame bytes]. control bit 0: arrives on the
// pods port (else ext); bit 1: the harness fixes the frame's IPv4/L4 checksums first, or the TCP
// checksum of an IPv6 segment right behind the fixed header (and a bare TCP ACK whose ack is
// kCookieMagic gets the valid SYN cookie + 1 for it, either family, so the fuzzer reaches the
// SYN proxy's cookie path without knowing the key or the clock); bits 2-4:
// advance the clock before the frame (0, 1 ms, 100 ms, 1 s, 10 s, 61 s, 130 s, 601 s); bit 5:
// the burst ends after this frame; bit 6: run the worker's timed chores (tick, ageing) first;
// bit 7: switch the SYN proxy (on <-> off) before the frame.
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/engine/worker.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/net/checksum6.hpp"
#include "tests/engine/engine_lab.hpp"

namespace {

using namespace nfgate;

constexpr unsigned kBurstMax = 32;
constexpr unsigned kPoolSize = 8191;
constexpr unsigned kInUseBound = 2048;  // far above what the engine may hold between bursts
constexpr uint32_t kCookieMagic = 0xc00c1e01;
const engine::SipKey kFuzzCookieKey{0x0123456789abcdefull, 0xfedcba9876543210ull};

struct State {
    rte_mempool* pool = nullptr;
    Model model;
    std::unique_ptr<engine::EngineShared> shared;
    std::unique_ptr<engine::WorkerContext> worker;
    std::unique_ptr<engine::ServiceTable> st;
    test::RecordingIo io;
    uint64_t now_ns = 1'000'000'000'000ull;
    uint64_t last_unfixed_ns = 0;  // a frame with checksums as the fuzzer wrote them
};
State* g = nullptr;
// Printed at exit: how much the invariants saw.
unsigned long g_frames_in = 0, g_frames_out = 0, g_l4_checked = 0;

[[noreturn]] void finding(const char* what, unsigned long a = 0, unsigned long b = 0) {
    std::fprintf(stderr, "fuzz_burst: %s (%lu, %lu)\n", what, a, b);
    std::abort();
}

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void store16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// The RFC 1071 sum of the IPv4 pseudo header (addresses taken as they sit in the packet).
uint32_t pseudo_sum(const uint8_t* ip, uint8_t proto, uint16_t l4_len) {
    uint8_t ph[12];
    std::memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = proto;
    store16(ph + 10, l4_len);
    return net::csum_partial(ph, sizeof ph);
}

// Where an IPv4 packet's checksummed parts are, if the frame holds a coherent one.
struct Ipv4View {
    uint8_t* ip = nullptr;
    size_t ihl = 0, total = 0;
    bool fragment = false;
    uint8_t proto = 0;
};

bool view_ipv4(uint8_t* frame, size_t len, Ipv4View& v) {
    if (len < RTE_ETHER_HDR_LEN + 20 || load16(frame + 12) != RTE_ETHER_TYPE_IPV4) return false;
    v.ip = frame + RTE_ETHER_HDR_LEN;
    v.ihl = (v.ip[0] & 0xf) * 4u;
    v.total = load16(v.ip + 2);
    if ((v.ip[0] >> 4) != 4 || v.ihl < 20 || v.total < v.ihl || v.total > len - RTE_ETHER_HDR_LEN) return false;
    v.fragment = (load16(v.ip + 6) & 0x3fff) != 0;
    v.proto = v.ip[9];
    return true;
}

// Offset of the L4 checksum field, or 0 when the protocol has none this harness knows.
size_t l4_csum_offset(const Ipv4View& v) {
    const size_t l4 = v.total - v.ihl;
    if (v.proto == 6 && l4 >= 20) return 16;
    if (v.proto == 17 && l4 >= 8) return 6;
    if (v.proto == 1 && l4 >= 8) return 2;
    return 0;
}

uint16_t l4_sum(const Ipv4View& v) {
    const uint8_t* l4 = v.ip + v.ihl;
    const auto len = static_cast<uint16_t>(v.total - v.ihl);
    const uint32_t seed = v.proto == 1 ? 0 : pseudo_sum(v.ip, v.proto, len);
    return net::csum_fold(net::csum_partial(l4, len, seed));
}

// net::csum_* sum 16-bit words as they sit in memory: their result is stored as is.
void store_csum(uint8_t* p, uint16_t c) { std::memcpy(p, &c, 2); }

uint32_t load32(const uint8_t* p) { return uint32_t{load16(p)} << 16 | load16(p + 2); }
uint32_t raw32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
uint16_t raw16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

// Writes `ack` (host order) as a TCP header's acknowledgement number.
void store_ack(uint8_t* tcp, uint32_t ack) {
    store16(tcp + 8, static_cast<uint16_t>(ack >> 16));
    store16(tcp + 10, static_cast<uint16_t>(ack));
}

void fill_cookie(const Ipv4View& v, uint32_t now_s) {
    uint8_t* tcp = v.ip + v.ihl;
    if (v.proto != 6 || v.fragment || v.total - v.ihl < 20 || (tcp[13] & 0x17) != 0x10 || load32(tcp + 8) != kCookieMagic)
        return;
    const engine::CookieTuple t{raw32(v.ip + 12), raw32(v.ip + 16), raw16(tcp), raw16(tcp + 2)};
    const uint32_t isn = load32(tcp + 4) - 1;
    store_ack(tcp, engine::make_cookie(kFuzzCookieKey, t, isn, now_s, 0) + 1);
}

// IPv6 with TCP right behind the fixed header: a returned cookie filled in, the checksum fixed.
void fix_ipv6_tcp(uint8_t* frame, size_t len, uint32_t now_s) {
    constexpr size_t kEth = 14, kIp6 = 40;
    if (len < kEth + kIp6 + 20 || load16(frame + 12) != RTE_ETHER_TYPE_IPV6) return;
    uint8_t* ip = frame + kEth;
    const size_t plen = load16(ip + 4);
    if (ip[6] != 6 || plen < 20 || kEth + kIp6 + plen > len) return;
    uint8_t* tcp = ip + kIp6;
    const engine::Ip6 src = engine::Ip6::from(ip + 8), dst = engine::Ip6::from(ip + 24);
    if ((tcp[13] & 0x17) == 0x10 && load32(tcp + 8) == kCookieMagic) {
        const engine::CookieTuple6 t{src, dst, raw16(tcp), raw16(tcp + 2)};
        store_ack(tcp, engine::make_cookie(kFuzzCookieKey, t, load32(tcp + 4) - 1, now_s, 0) + 1);
    }
    store16(tcp + 16, 0);
    const uint16_t c = net::ip6_l4_checksum(src, dst, 6, tcp, static_cast<uint32_t>(plen));
    std::memcpy(tcp + 16, &c, 2);
}

void fix_checksums(uint8_t* frame, size_t len, uint32_t now_s) {
    fix_ipv6_tcp(frame, len, now_s);
    Ipv4View v;
    if (!view_ipv4(frame, len, v)) return;
    fill_cookie(v, now_s);
    store16(v.ip + 10, 0);
    store_csum(v.ip + 10, net::csum_finish(net::csum_partial(v.ip, v.ihl)));
    const size_t off = l4_csum_offset(v);
    if (v.fragment || off == 0) return;
    uint8_t* field = v.ip + v.ihl + off;
    if (v.proto == 17 && load16(field) == 0) return;  // "no checksum" stays so
    store16(field, 0);
    uint16_t c = static_cast<uint16_t>(~l4_sum(v));
    if (v.proto == 17 && c == 0) c = 0xffff;
    store_csum(field, c);
}

void check_output(const test::Sent& s, bool inputs_had_good_checksums) {
    rte_mbuf* m = s.m;
    if (s.port > test::kPods) finding("transmitted on a port that does not exist", s.port);
    if (m->nb_segs != 1 || m->data_len != m->pkt_len) finding("transmitted frame not one whole segment", m->nb_segs);
    if (m->pkt_len < RTE_ETHER_HDR_LEN) finding("transmitted frame shorter than an Ethernet header", m->pkt_len);
    auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
    if (load16(frame + 12) == RTE_ETHER_TYPE_IPV6) {
        // An IPv6 frame leaves whole: its payload length is what the frame holds (ND, echo
        // replies, errors and forwarded packets alike).
        if (m->pkt_len < RTE_ETHER_HDR_LEN + 40) finding("transmitted IPv6 frame shorter than its header", m->pkt_len);
        if (load16(frame + RTE_ETHER_HDR_LEN + 4) + 40u + RTE_ETHER_HDR_LEN != m->pkt_len)
            finding("transmitted IPv6 payload length is not the frame's", load16(frame + RTE_ETHER_HDR_LEN + 4), m->pkt_len);
        ++g_frames_out;
        return;
    }
    if (load16(frame + 12) != RTE_ETHER_TYPE_IPV4) return;
    Ipv4View v;
    if (!view_ipv4(frame, m->pkt_len, v)) finding("transmitted IPv4 frame with incoherent header", m->pkt_len);
    ++g_frames_out;
    if (v.total != m->pkt_len - RTE_ETHER_HDR_LEN)
        finding("transmitted IPv4 total length is not the frame's", v.total, m->pkt_len);
    if (net::csum_fold(net::csum_partial(v.ip, v.ihl)) != 0xffff) finding("transmitted IPv4 header checksum wrong");
    const size_t off = l4_csum_offset(v);
    if (!inputs_had_good_checksums || v.fragment || off == 0) return;
    if (v.proto == 17 && load16(v.ip + v.ihl + off) == 0) return;
    ++g_l4_checked;
    if (l4_sum(v) != 0xffff) finding("transmitted L4 checksum wrong", v.proto, v.total);
}

constexpr uint64_t kAdvanceNs[8] = {0, 1'000'000, 100'000'000, 1'000'000'000, 10'000'000'000,
                                    61'000'000'000, 130'000'000'000, 601'000'000'000};

uint64_t counted_reasons(const engine::WorkerStats& s) {
    uint64_t n = 0;
    for (size_t i = 0; i < engine::kReasonCount; ++i) n += s.reason(static_cast<engine::Reason>(i));
    return n;
}

// A burst's outputs may include frames parked earlier (waiting up to 1 s for a neighbour):
// checksums are only asserted when nothing unfixed arrived within the last 2 s.
void run_burst(uint16_t port, std::vector<rte_mbuf*>& burst, bool good_checksums) {
    if (burst.empty()) return;
    good_checksums = good_checksums && g->now_ns - g->last_unfixed_ns > 2'000'000'000ull;
    const engine::WorkerStats& stats = g->worker->stats;
    const uint64_t rx0 = stats.rx(), reasons0 = counted_reasons(stats);
    g->io.clear();
    engine::process_burst(*g->worker, *g->st, g->io, port, std::span<rte_mbuf*>(burst), g->now_ns);
    engine::worker_quiescent(*g->worker);
    g_frames_in += burst.size();
    if (stats.rx() - rx0 != burst.size()) finding("rx does not count every frame", stats.rx() - rx0, burst.size());
    if (g->io.dropped > counted_reasons(stats) - reasons0)
        finding("a frame was freed without a counted reason", g->io.dropped, counted_reasons(stats) - reasons0);
    for (const auto& s : g->io.sent) check_output(s, good_checksums);
    g->io.clear();
    burst.clear();
}

void chores() {
    g->io.clear();
    engine::worker_tick(*g->worker, *g->st, g->io, g->now_ns, g->pool);
    for (const auto& s : g->io.sent) check_output(s, false);
    g->io.clear();
    engine::worker_quiescent(*g->worker);
    engine::worker_housekeeping(*g->worker, g->now_ns, 512);
}

}  // namespace

rte_mempool* nfgate::test::test_pool() { return g->pool; }

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char prog[] = "fuzz_burst", a1[] = "--no-huge", a2[] = "-m", a3[] = "256", a4[] = "--no-pci",
         a5[] = "--log-level=error", a6[] = "--file-prefix=nfgate_fuzz_burst", a7[] = "--no-shconf";
    char* eal_argv[] = {prog, a1, a2, a3, a4, a5, a6, a7};
    if (rte_eal_init(8, eal_argv) < 0) finding("rte_eal_init failed");
    g = new State;
    std::atexit([] {
        std::fprintf(stderr,
                     "fuzz_burst: %lu frames in, %lu IPv4 frames out checked (%lu with their L4 checksum), "
                     "%lu SYN cookies sent, %lu connections opened by one\n",
                     g_frames_in, g_frames_out, g_l4_checked,
                     static_cast<unsigned long>(g->worker->stats.reason(engine::Reason::syn_cookie_sent)),
                     static_cast<unsigned long>(g->worker->stats.reason(engine::Reason::syn_proxy_opened)));
    });
    g->pool = rte_pktmbuf_pool_create("fuzz_burst", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g->pool == nullptr) finding("mbuf pool");
    g->model = test::dual_stack_lab_model();  // IPv6 forwarding, NAT66 and neighbour discovery too
    g->model.new_flows_per_source = 200;  // the per-source limit in the path, reachable by a burst
    g->model.new_flows_per_source_burst = 64;
    engine::EngineConfig cfg = engine::EngineConfig::from_model(g->model);
    cfg.max_flows = 1024;  // small, so the fuzzer reaches a full table and early drop
    cfg.workers = 1;
    cfg.snat_port_min = 1024;
    cfg.snat_port_max = 1279;  // small, so it reaches an exhausted SNAT pool
    std::string err;
    g->shared = engine::EngineShared::create(cfg, err);
    if (!g->shared) finding(("EngineShared::create: " + err).c_str());
    g->shared->set_cookie_key(kFuzzCookieKey);
    g->worker = std::make_unique<engine::WorkerContext>(*g->shared, 0);
    const rte_ether_addr macs[] = {test::kExtMac, test::kPodsMac};
    g->st = engine::build_service_table(g->model, std::span<const rte_ether_addr>(macs, 2), err);
    if (!g->st) finding(("build_service_table: " + err).c_str());
    test::learn_lab_neighbours(g->shared->neighbours(), g->model, static_cast<uint32_t>(g->now_ns / 1'000'000'000));
    test::learn_lab_neighbours6(g->shared->neighbours6(), static_cast<uint32_t>(g->now_ns / 1000000000));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<rte_mbuf*> burst;
    uint16_t burst_port = 0;
    bool good_checksums = true;
    size_t at = 0;
    while (at + 3 <= size) {
        const uint8_t ctl = data[at];
        size_t len = data[at + 1] | size_t{data[at + 2]} << 8;
        at += 3;
        len = std::min({len, size - at, size_t{RTE_MBUF_DEFAULT_DATAROOM}});
        const uint16_t port = (ctl & 1) ? test::kPods : test::kExt;
        if (!burst.empty() && (port != burst_port || burst.size() == kBurstMax || (ctl & 0xdc))) {
            run_burst(burst_port, burst, good_checksums);
            good_checksums = true;
        }
        g->now_ns += kAdvanceNs[(ctl >> 2) & 7];
        if (ctl & 0x40) chores();
        if (ctl & 0x80) g->shared->set_syn_proxy(!g->shared->syn_proxy());
        rte_mbuf* m = rte_pktmbuf_alloc(g->pool);
        if (m == nullptr) finding("mbuf pool exhausted: the engine leaks mbufs", rte_mempool_in_use_count(g->pool));
        auto* dst = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
        if (len != 0 && dst == nullptr) finding("append");
        if (len != 0) std::memcpy(dst, data + at, len);
        at += len;
        if (ctl & 2) fix_checksums(dst, len, static_cast<uint32_t>(g->now_ns / 1'000'000'000));
        else {
            good_checksums = false;
            g->last_unfixed_ns = g->now_ns;
        }
        burst_port = port;
        burst.push_back(m);
        if (ctl & 0x20) {
            run_burst(burst_port, burst, good_checksums);
            good_checksums = true;
        }
    }
    run_burst(burst_port, burst, good_checksums);
    if (rte_mempool_in_use_count(g->pool) > kInUseBound)
        finding("mbufs in use keep growing: the engine leaks", rte_mempool_in_use_count(g->pool));
    return 0;
}

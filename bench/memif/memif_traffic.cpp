// The generator's loop: answer what the gateway asks (ARP on both sides, SYN on the pods' side,
// SYN-ACK on the clients' side), check every frame that reaches the pods, and send.
#include <numeric>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "bench/memif/memif_gen.hpp"

namespace nfgate::memif {

namespace {

constexpr uint16_t kBurst = 32;
// A window that made no progress for this long lost its frames (a full ring on the way):
// they are written off so the warm-up goes on.
constexpr double kStallSeconds = 0.005;

// A stride through [0, n) that visits every flow once per round in a scattered order, so
// consecutive packets hit unrelated flow-table entries, as independent clients would.
uint32_t scatter_stride(uint32_t n) {
    if (n <= 1) return 1;
    auto s = static_cast<uint32_t>(double(n) * 0.6180339887) | 1u;
    while (std::gcd(s, n) != 1) s += 2;
    return s % n == 0 ? 1 : s;
}

uint8_t* data_of(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

void set_len(rte_mbuf* m, uint32_t len) {
    if (m->data_len < len) std::memset(data_of(m) + m->data_len, 0, len - m->data_len);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
}

}  // namespace

Generator::Generator(const Options& o, uint16_t port_a, uint16_t port_b, rte_mempool* pool)
    : o_(o), a_(port_a), b_(port_b), pool_(pool), hz_(rte_get_timer_hz()) {
    const uint8_t proto = o.mode == Mode::udp ? 17 : 6;
    data_ = make_template(proto, kAck | kPsh, o.mac_a, o.gw_mac_a, o.ends);
    syn_ = make_template(6, kSyn, o.mac_a, o.gw_mac_a, o.ends);
    stride_ = scatter_stride(o.flows);
}

uint32_t Generator::next_flow() {
    const uint32_t i = cursor_;
    cursor_ += stride_;
    if (cursor_ >= o_.flows) cursor_ -= o_.flows;
    return i;
}

void Generator::note_bad(const char* why) {
    ++c_.bad;
    for (auto& [w, n] : bad_why_)
        if (w == why) {
            ++n;
            return;
        }
    bad_why_.emplace_back(why, 1);
}

void Generator::flush(uint16_t port, rte_mbuf** pkts, uint16_t n) {
    if (n == 0) return;
    const uint16_t sent = rte_eth_tx_burst(port, 0, pkts, n);
    if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
}

// The clients' side: ARP for the router (or any client), and the gateway's SYN-ACKs, which
// the client completes with an ACK (and in conn mode aborts at once with RST, so the flow
// closes and the table does not fill).
void Generator::poll_clients() {
    rte_mbuf* in[kBurst];
    rte_mbuf* out[kBurst * 2];
    rte_mbuf* done[kBurst];
    uint16_t n_out = 0, n_done = 0;
    const uint16_t n = rte_eth_rx_burst(a_, 0, in, kBurst);
    for (uint16_t k = 0; k < n; ++k) {
        rte_mbuf* m = in[k];
        uint8_t* f = data_of(m);
        if (is_arp_request(f, m->data_len, o_.gw_ip_a)) {
            set_len(m, make_arp_reply(f, o_.mac_a));
            out[n_out++] = m;
            ++c_.arp_answered;
        } else if (o_.mode != Mode::udp && is_client_syn_ack(f, m->data_len, o_.mac_a, o_.ends)) {
            rte_mbuf* rst = o_.mode == Mode::conn ? rte_pktmbuf_alloc(pool_) : nullptr;
            if (o_.mode == Mode::tcp) mark_open(f);
            set_len(m, make_client_reply(f, o_.mac_a, o_.gw_mac_a, kAck));
            out[n_out++] = m;
            ++c_.client_acks;
            if (rst != nullptr) {
                std::memcpy(rte_pktmbuf_append(rst, m->data_len), f, m->data_len);
                uint8_t* r = data_of(rst);
                r[kEth + kIp + 13] = kRst | kAck;
                fill_checksums(r);
                out[n_out++] = rst;
            }
        } else {
            ++c_.other;
            done[n_done++] = m;
        }
    }
    flush(a_, out, n_out);
    if (n_done) rte_pktmbuf_free_bulk(done, n_done);
}

// The pods' side: every frame is checked; SYNs are answered with a SYN-ACK from that pod.
void Generator::poll_pods() {
    rte_mbuf* in[kBurst];
    rte_mbuf* out[kBurst];
    rte_mbuf* done[kBurst];
    uint16_t n_out = 0, n_done = 0;
    const uint16_t n = rte_eth_rx_burst(b_, 0, in, kBurst);
    const uint8_t proto = o_.mode == Mode::udp ? 17 : 6;
    for (uint16_t k = 0; k < n; ++k) {
        rte_mbuf* m = in[k];
        uint8_t* f = data_of(m);
        const PodCheck pc = check_pod_frame(f, m->data_len, o_.mac_b, o_.gw_mac_b, o_.ends, proto);
        switch (pc.kind) {
        case PodFrame::data: ++c_.good; break;
        case PodFrame::syn:
            ++c_.syn_seen;
            set_len(m, make_syn_ack(f, o_.mac_b, o_.gw_mac_b));
            out[n_out++] = m;
            ++c_.syn_acks;
            continue;
        case PodFrame::ack: ++c_.established; break;
        case PodFrame::rst: ++c_.rst_seen; break;
        case PodFrame::arp:
            if (is_arp_request(f, m->data_len, o_.gw_ip_b)) {
                set_len(m, make_arp_reply(f, o_.mac_b));
                out[n_out++] = m;
                ++c_.arp_answered;
                continue;
            }
            ++c_.other;
            break;
        case PodFrame::bad: note_bad(pc.why); break;
        case PodFrame::fin:
        case PodFrame::other: ++c_.other; break;
        }
        done[n_done++] = m;
    }
    flush(b_, out, n_out);
    if (n_done) rte_pktmbuf_free_bulk(done, n_done);
}

void Generator::send_data_burst() {
    rte_mbuf* pkts[kBurst];
    if (rte_pktmbuf_alloc_bulk(pool_, pkts, kBurst) != 0) return;
    for (rte_mbuf* m : pkts) {
        data_.patch(data_of(m), next_flow(), o_.ends);
        m->data_len = data_.len;
        m->pkt_len = data_.len;
    }
    const uint16_t sent = rte_eth_tx_burst(a_, 0, pkts, kBurst);
    c_.tx += sent;
    if (sent < kBurst) {
        c_.tx_refused += kBurst - sent;
        rte_pktmbuf_free_bulk(pkts + sent, kBurst - sent);
    }
}

// Frames for flows next, next+1, ... below `limit`, at most `budget` (and one burst): SYNs in
// TCP and conn mode, data frames in UDP mode (the first packet of a UDP flow creates it). With
// `skip_open`, flows whose handshake the client already completed are passed over (a retry
// round). Returns the frames sent; `next` moves past every flow sent or skipped.
uint32_t Generator::send_open_burst(uint32_t& next, uint32_t limit, uint32_t budget, bool skip_open) {
    rte_mbuf* pkts[kBurst];
    const uint32_t want = std::min<uint32_t>(kBurst, budget);
    if (want == 0 || next >= limit) return 0;
    if (rte_pktmbuf_alloc_bulk(pool_, pkts, want) != 0) return 0;
    const Template& t = o_.mode == Mode::udp ? data_ : syn_;
    uint32_t n = 0;
    uint32_t at = next;
    uint32_t flows[kBurst];
    for (; at < limit && n < want; ++at) {
        if (skip_open && is_open(at)) continue;
        t.patch(data_of(pkts[n]), at, o_.ends);
        pkts[n]->data_len = t.len;
        pkts[n]->pkt_len = t.len;
        flows[n++] = at;
    }
    const uint16_t sent = n == 0 ? 0 : rte_eth_tx_burst(a_, 0, pkts, static_cast<uint16_t>(n));
    c_.tx += sent;
    // Resume at the first flow the port refused.
    next = sent < n ? flows[sent] : at;
    if (sent < n) c_.tx_refused += n - sent;
    if (sent < want) rte_pktmbuf_free_bulk(pkts + sent, want - sent);
    return sent;
}

bool Generator::is_open(uint32_t i) const { return open_[i >> 6] >> (i & 63) & 1; }

void Generator::mark_open(const uint8_t* syn_ack) {
    const uint32_t ip = be32(syn_ack + kEth + 16), port = be16(syn_ack + kEth + kIp + 2);
    if (ip < o_.ends.client_base || port < kPortBase || port >= kPortBase + (1u << kPortBits)) return;
    const uint32_t i = (ip - o_.ends.client_base) << kPortBits | (port - kPortBase);
    if (i >= o_.flows || open_.empty() || is_open(i)) return;
    open_[i >> 6] |= uint64_t{1} << (i & 63);
    ++opened_;
}

// Sends opening frames for flows [0, count) with at most `window` unanswered at a time;
// `done()` counts answers (good UDP frames, or completed handshakes). Returns the seconds it took.
template <class Done>
double Generator::windowed(uint32_t count, bool skip_open, Done done) {
    const uint64_t t0 = rte_get_timer_cycles();
    const uint64_t deadline = t0 + static_cast<uint64_t>(o_.warmup_timeout * double(hz_));
    const uint64_t stall = static_cast<uint64_t>(kStallSeconds * double(hz_));
    const uint64_t base = done();
    uint64_t written_off = 0, last_done = 0, last_progress = t0, sent = 0;
    uint32_t next = 0;
    for (;;) {
        poll_clients();
        poll_pods();
        const uint64_t now = rte_get_timer_cycles();
        const uint64_t d = done() - base;
        if (d != last_done) {
            last_done = d;
            last_progress = now;
        }
        const uint64_t in_flight = sent > d + written_off ? sent - d - written_off : 0;
        if (next >= count && (in_flight == 0 || now - last_progress > stall)) break;
        if (now > deadline) break;
        if (next < count && in_flight < o_.window) {
            sent += send_open_burst(next, count, static_cast<uint32_t>(o_.window - in_flight), skip_open);
        } else if (now - last_progress > stall) {
            written_off += in_flight;
            last_progress = now;
        }
    }
    return double(rte_get_timer_cycles() - t0) / double(hz_);
}

Phase Generator::warm_up() {
    Phase p;
    p.name = "warm-up";
    p.start = c_;
    if (o_.mode == Mode::udp) {
        // Twice: a flow whose first packet was lost on the way is created by the second round.
        p.seconds = windowed(o_.flows, false, [this] { return c_.good; });
        p.seconds += windowed(o_.flows, false, [this] { return c_.good; });
    } else if (o_.mode == Mode::tcp) {
        // Handshakes lost on the way (the first ones wait for ARP) are tried again, up to
        // four rounds; a flow counts as open once its client sent the completing ACK.
        open_.assign((o_.flows + 63) / 64, 0);
        for (int round = 0; round < 4 && opened_ < o_.flows; ++round)
            p.seconds += windowed(o_.flows, round > 0, [this] { return c_.established; });
    }
    drain(20);
    p.end = c_;
    return p;
}

Phase Generator::measure() {
    Phase p;
    p.name = "measure";
    p.start = c_;
    const uint64_t t0 = rte_get_timer_cycles();
    const uint64_t end = t0 + static_cast<uint64_t>(o_.seconds * double(hz_));
    const uint64_t stall = static_cast<uint64_t>(kStallSeconds * double(hz_));
    uint64_t next_sample = t0 + hz_;
    // conn mode: fresh client tuples after the flows any earlier phase used.
    uint32_t next = o_.flows;
    const uint64_t base = c_.established;
    uint64_t written_off = 0, last_done = 0, last_progress = t0;
    for (uint64_t now = t0; now < end; now = rte_get_timer_cycles()) {
        poll_clients();
        poll_pods();
        // Closed connections keep their entries for the close timeout: stop before the
        // gateway's table fills, or the window would end measuring refusals.
        if (o_.mode == Mode::conn && o_.max_conns != 0 && next - o_.flows >= o_.max_conns) break;
        if (o_.mode != Mode::conn) {
            send_data_burst();
        } else {
            const uint64_t d = c_.established - base;
            if (d != last_done) {
                last_done = d;
                last_progress = now;
            }
            const uint64_t opened = next - o_.flows;
            const uint64_t in_flight = opened > d + written_off ? opened - d - written_off : 0;
            if (in_flight < o_.window) {
                send_open_burst(next, UINT32_MAX, static_cast<uint32_t>(o_.window - in_flight), false);
            } else if (now - last_progress > stall) {
                written_off += in_flight;
                last_progress = now;
            }
        }
        if (now >= next_sample) {
            p.samples.push_back({double(now - t0) / double(hz_), c_});
            next_sample += hz_;
        }
    }
    const uint64_t stop = rte_get_timer_cycles();
    p.seconds = double(stop - t0) / double(hz_);
    p.end = c_;
    // The last part second is a sample too when it is at least half of one.
    if (stop + hz_ / 2 >= next_sample) p.samples.push_back({p.seconds, c_});
    return p;
}

void Generator::drain(double ms) {
    const uint64_t end = rte_get_timer_cycles() + static_cast<uint64_t>(ms / 1e3 * double(hz_));
    while (rte_get_timer_cycles() < end) {
        poll_clients();
        poll_pods();
    }
}

}  // namespace nfgate::memif

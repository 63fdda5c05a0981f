#include "bench/harness/driver.hpp"

#include <cstring>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "model/model.hpp"
#include "dataplane/port/port_setup.hpp"

namespace nfgate::bench {

namespace {

std::string mac_text(const rte_ether_addr& a) {
    char b[20];
    rte_ether_format_addr(b, sizeof b, &a);
    return b;
}

std::string tuple_text(uint32_t s, uint16_t sp, uint32_t d, uint16_t dp) {
    return ip_to_string(s) + ":" + std::to_string(sp) + " -> " + ip_to_string(d) + ":" + std::to_string(dp);
}

}  // namespace

bool HarnessPorts::create(rte_mempool* pool, std::string& err) {
    const char* names[2] = {"bench_ext", "bench_pods"};
    for (unsigned p = 0; p < 2; ++p) {
        for (unsigned q = 0; q < kMaxWorkers; ++q) {
            const std::string rx_name = std::string(names[p]) + "_rx" + std::to_string(q);
            const std::string tx_name = std::string(names[p]) + "_tx" + std::to_string(q);
            rx[p][q] = rte_ring_create(rx_name.c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
            tx[p][q] = rte_ring_create(tx_name.c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (rx[p][q] == nullptr || tx[p][q] == nullptr) {
                err = std::string("rte_ring_create: ") + rte_strerror(rte_errno);
                return false;
            }
        }
        const int id = rte_eth_from_rings(names[p], rx[p], kMaxWorkers, tx[p], kMaxWorkers, SOCKET_ID_ANY);
        if (id < 0) {
            err = std::string("rte_eth_from_rings: ") + rte_strerror(rte_errno);
            return false;
        }
        port_id[p] = static_cast<uint16_t>(id);
        port::PortSizing sizing{kMaxWorkers, 512, 512};
        if (!port::start_port(port_id[p], sizing, pool, names[p], mac[p], err)) return false;
    }
    return true;
}

WorkerDriver::WorkerDriver(unsigned id, const HarnessPorts& ports, rte_mempool* pool)
    : id_(id),
      ports_(ports),
      pool_(pool),
      interrupted_tsc_(rte_get_tsc_hz() / 1000000 * kInterruptedBurstUs),
      housekeeping_tsc_(rte_get_tsc_hz() / 1000000 * port::kDrainMicroseconds) {
    for (auto& b : buffers_)
        b = static_cast<rte_eth_dev_tx_buffer*>(
            rte_zmalloc("bench_txbuf", RTE_ETH_TX_BUFFER_SIZE(port::kBurstSize), RTE_CACHE_LINE_SIZE));
    io_.bind(2, ports.port_id, static_cast<uint16_t>(id), buffers_);
}

WorkerDriver::~WorkerDriver() {
    for (auto* b : buffers_) rte_free(b);
}

void WorkerDriver::bind(engine::WorkerContext* ctx, const std::atomic<const engine::ServiceTable*>* table,
                        rte_rcu_qsbr* qsv) {
    ctx_ = ctx;
    table_ = table;
    qsv_ = qsv;
}

void WorkerDriver::fail(RunStats& st, const std::string& what) {
    ++st.wrong;
    if (st.first_errors.size() < 5) st.first_errors.push_back(what);
}

void WorkerDriver::feed(const Workload& w, uint16_t port, const uint32_t* tags, unsigned n, bool timed,
                        RunStats& st) {
    rte_mbuf* pkts[port::kBurstSize];
    if (rte_pktmbuf_alloc_bulk(pool_, pkts, n) != 0) {
        fail(st, "packet pool exhausted: mbufs are leaking");
        return;
    }
    for (unsigned i = 0; i < n; ++i) {
        const uint32_t t = tags[i];
        auto* data = rte_pktmbuf_mtod(pkts[i], uint8_t*);
        rte_memcpy(data, w.arena.data() + w.offset[t], w.length[t]);
        // Addressed to the port it arrives on, as a neighbour that resolved the gateway sends it.
        reinterpret_cast<rte_ether_hdr*>(data)->dst_addr = ports_.mac[port];
        pkts[i]->data_len = w.length[t];
        pkts[i]->pkt_len = w.length[t];
    }
    const engine::ServiceTable* table = table_->load(std::memory_order_acquire);
    const uint64_t t0 = rte_rdtsc();
    const uint64_t now_ns = clock_.ns(t0);
    engine::process_burst(*ctx_, *table, io_, port, std::span<rte_mbuf*>(pkts, n), now_ns);
    io_.flush();
    // The worker loop ages one slice per drain period while it is busy (worker_loop.hpp).
    if (t0 - last_housekeeping_ > housekeeping_tsc_) {
        engine::worker_housekeeping(*ctx_, now_ns);
        last_housekeeping_ = t0;
    }
    const uint64_t t1 = rte_rdtsc();
    rte_rcu_qsbr_quiescent(qsv_, id_);
    if (!timed) return;
    if (t1 - t0 > interrupted_tsc_) {
        ++st.interrupted;
        return;
    }
    st.cycles += t1 - t0;
    st.packets += n;
}

void WorkerDriver::collect(const Workload& w, bool warm_up, RunStats& st) {
    rte_mbuf* out[64];
    for (uint16_t p = 0; p < 2; ++p) {
        unsigned n;
        while ((n = rte_ring_dequeue_burst(ports_.tx[p][id_], reinterpret_cast<void**>(out), 64, nullptr)) > 0) {
            for (unsigned i = 0; i < n; ++i) {
                check(w, p, rte_pktmbuf_mtod(out[i], const uint8_t*), rte_pktmbuf_data_len(out[i]), warm_up, st);
            }
            rte_pktmbuf_free_bulk(out, n);
        }
    }
}

void WorkerDriver::check(const Workload& w, uint16_t port, const uint8_t* frame, uint32_t len, bool warm_up,
                         RunStats& st) {
    if (len >= sizeof(rte_ether_hdr) &&
        reinterpret_cast<const rte_ether_hdr*>(frame)->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
        return check6(w, port, frame, len, st);
    Parsed p;
    if (!parse_frame(frame, len, p)) return fail(st, "unparsable frame out of port " + std::to_string(port));
    if (p.ether_type == RTE_ETHER_TYPE_ARP) {
        if (warm_up && p.arp_op == RTE_ARP_OP_REQUEST) {
            arp_requests_.emplace_back(port, p);
            return;
        }
        return fail(st, "unexpected ARP op " + std::to_string(p.arp_op) + " for " + ip_to_string(p.arp_tip));
    }
    ++st.outputs;
    if (p.tag >= w.expect.size() || seen_[p.tag]) return fail(st, "duplicate or unknown tag " + std::to_string(p.tag));
    seen_[p.tag] = 1;
    const Expect& e = w.expect[p.tag];
    // The message is built only for a failure: this runs for every packet.
    auto what = [&] {
        return "tag " + std::to_string(p.tag) + ": got " + tuple_text(p.src, p.sport, p.dst, p.dport);
    };
    if (port != e.out_port) return fail(st, what() + " out of port " + std::to_string(port));
    if (!p.checksums_ok) return fail(st, what() + ": bad checksum");
    if (p.proto != e.proto) return fail(st, what() + ": protocol " + std::to_string(p.proto));
    if (e.check == Check::echo_reply) {
        if (p.icmp_type != 0 || p.src != e.src || p.dst != e.dst || p.sport != e.sport)
            return fail(st, what() + ": not the echo reply expected");
        return;
    }
    bool tuple_ok = p.src == e.src && p.sport == e.sport && p.dport == e.dport;
    uint32_t next_hop = e.next_hop;
    if (e.check == Check::any_backend) {
        tuple_ok &= p.dst >= net::kBackendBase && p.dst < net::kBackendBase + net::kBackends;
        next_hop = p.dst;
    } else {
        tuple_ok &= p.dst == e.dst;
    }
    if (!tuple_ok) return fail(st, what() + ", want " + tuple_text(e.src, e.sport, e.dst, e.dport));
    if (p.ttl != 63 || p.tcp_flags != e.tcp_flags) return fail(st, what() + ": ttl/flags changed wrongly");
    const rte_ether_addr want_mac = neighbour_mac(next_hop);
    if (!rte_is_same_ether_addr(&p.dst_mac, &want_mac) || !rte_is_same_ether_addr(&p.src_mac, &ports_.mac[port]))
        return fail(st, what() + ": MACs " + mac_text(p.src_mac) + " -> " + mac_text(p.dst_mac));
    if (seen_dst_) (*seen_dst_)[p.tag] = p.dst;
}

void WorkerDriver::check6(const Workload& w, uint16_t port, const uint8_t* frame, uint32_t len, RunStats& st) {
    Parsed6 p;
    if (!parse_frame6(frame, len, p)) return fail(st, "unparsable IPv6 frame out of port " + std::to_string(port));
    if (p.proto == kIcmp6) {
        // The harness made every neighbour known: a solicitation means the engine looked up
        // another address than the one it should route to, or lost what it was taught.
        if (p.icmp_type == kIcmp6NeighbourSolicit)
            return fail(st, "neighbour solicitation for " + ip6_text(p.nd_target) + " out of port " + std::to_string(port));
        return fail(st, "ICMPv6 type " + std::to_string(p.icmp_type) + " from " + ip6_text(p.src) + " to " +
                            ip6_text(p.dst) + " out of port " + std::to_string(port));
    }
    ++st.outputs;
    if (p.tag >= w.expect6.size() || seen_[p.tag]) return fail(st, "duplicate or unknown tag " + std::to_string(p.tag));
    seen_[p.tag] = 1;
    const Expect6& e = w.expect6[p.tag];
    auto what = [&] {
        return "tag " + std::to_string(p.tag) + ": got [" + ip6_text(p.src) + "]:" + std::to_string(p.sport) + " -> [" +
               ip6_text(p.dst) + "]:" + std::to_string(p.dport);
    };
    if (port != e.out_port) return fail(st, what() + " out of port " + std::to_string(port));
    if (!p.checksum_ok) return fail(st, what() + ": bad checksum");
    if (p.proto != e.proto) return fail(st, what() + ": protocol " + std::to_string(p.proto));
    bool tuple_ok = p.src == e.src && p.sport == e.sport && p.dport == e.dport;
    Ip6 next_hop = e.next_hop;
    if (e.check == Check::any_backend) {
        tuple_ok &= net6::is_backend(p.dst);
        next_hop = p.dst;
    } else {
        tuple_ok &= e.check == Check::exact && p.dst == e.dst;
    }
    if (!tuple_ok)
        return fail(st, what() + ", want [" + ip6_text(e.src) + "]:" + std::to_string(e.sport) + " -> [" +
                            (e.check == Check::any_backend ? std::string("an LB endpoint") : ip6_text(e.dst)) +
                            "]:" + std::to_string(e.dport));
    if (p.hop_limit != 63 || p.tcp_flags != e.tcp_flags) return fail(st, what() + ": hop limit/flags changed wrongly");
    const rte_ether_addr want_mac = neighbour_mac6(next_hop);
    if (!rte_is_same_ether_addr(&p.dst_mac, &want_mac) || !rte_is_same_ether_addr(&p.src_mac, &ports_.mac[port]))
        return fail(st, what() + ": MACs " + mac_text(p.src_mac) + " -> " + mac_text(p.dst_mac));
    if (seen_dst6_) (*seen_dst6_)[p.tag] = p.dst;
}

void WorkerDriver::answer_arp(uint16_t port, const Parsed& request) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return;
    build_arp_reply(neighbour_mac(request.arp_tip), request.arp_tip, request.arp_sha, request.arp_sip,
                    rte_pktmbuf_mtod(m, uint8_t*));
    m->data_len = m->pkt_len = kMinFrame;
    const engine::ServiceTable* table = table_->load(std::memory_order_acquire);
    rte_mbuf* one[1] = {m};
    engine::process_burst(*ctx_, *table, io_, port, std::span<rte_mbuf*>(one, 1), clock_.ns(rte_rdtsc()));
    io_.flush();
}

RunStats WorkerDriver::run(const Workload& w, bool warm_up, std::vector<uint32_t>* seen_dst) {
    seen_dst_ = seen_dst;
    RunStats st = run_checked(w, warm_up);
    seen_dst_ = nullptr;
    return st;
}

RunStats WorkerDriver::run(const Workload& w, bool warm_up, std::vector<Ip6>* seen_dst6) {
    seen_dst6_ = seen_dst6;
    RunStats st = run_checked(w, warm_up);
    seen_dst6_ = nullptr;
    return st;
}

RunStats WorkerDriver::run_checked(const Workload& w, bool warm_up) {
    RunStats st;
    seen_.assign(w.size(), 0);
    rte_rcu_qsbr_thread_register(qsv_, id_);
    rte_rcu_qsbr_thread_online(qsv_, id_);
    std::vector<uint32_t> tags;
    for (const Burst& b : w.bursts) {
        tags.resize(b.count);
        for (uint32_t i = 0; i < b.count; ++i) tags[i] = b.first + i;
        feed(w, b.port, tags.data(), b.count, !warm_up, st);
        collect(w, warm_up, st);
    }
    // Neighbours are learnt from the ARP replies this driver injects, but with two workers the
    // gateway may ask only once (its ARP requests are rate limited and its neighbour table is
    // shared): the other worker's packets wait until that answer lands. So retry for a while,
    // not for a fixed number of rounds.
    const uint64_t give_up = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();
    while (warm_up && rte_get_tsc_cycles() < give_up) {
        for (const auto& [port, req] : arp_requests_) answer_arp(port, req);
        arp_requests_.clear();
        collect(w, warm_up, st);
        bool retried = false;
        for (const Burst& b : w.bursts) {
            tags.clear();
            for (uint32_t i = 0; i < b.count; ++i)
                if (!seen_[b.first + i]) tags.push_back(b.first + i);
            if (tags.empty()) continue;
            retried = true;
            feed(w, b.port, tags.data(), static_cast<unsigned>(tags.size()), false, st);
            collect(w, warm_up, st);
        }
        if (!retried) break;
        rte_delay_us_sleep(2000);
    }
    rte_rcu_qsbr_thread_offline(qsv_, id_);
    for (uint32_t t = 0; t < w.size(); ++t) st.lost += seen_[t] ? 0 : 1;
    return st;
}

}  // namespace nfgate::bench

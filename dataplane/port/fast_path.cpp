#include "dataplane/fast_path.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "dataplane/conntrack/conntrack_walk.hpp"
#include "dataplane/engine/arp.hpp"
#include "dataplane/engine/ndp.hpp"
#include "dataplane/engine/trace.hpp"
#include "dataplane/engine/worker.hpp"
#include "dataplane/port/capture_tap.hpp"
#include "dataplane/port/eal_setup.hpp"
#include "dataplane/port/engine_stage.hpp"
#include "dataplane/port/exception_path.hpp"
#include "dataplane/port/fast_path_runtime.hpp"
#include "dataplane/port/port_setup.hpp"
#include "dataplane/port/rcu_snapshot.hpp"
#include "dataplane/port/worker_set.hpp"
#include "dataplane/port/eal_teardown.hpp"

namespace nfgate::port {

namespace {

constexpr unsigned kPoolCache = 256;

std::string iface_field(const Model& m, size_t i) {
    return "interfaces[" + std::to_string(i) + "] (" + m.interfaces[i].name + ").device";
}

class DpdkFastPath final : public fastpath::FastPath {
public:
    explicit DpdkFastPath(bool owns_eal) : owns_eal_(owns_eal) {}
    ~DpdkFastPath() override { stop(); }

    bool bring_up(const Model& m, std::string& err);
    bool update(const Model& m, std::string& err) override;
    void stop() override;
    fastpath::Counters counters() const override;
    void set_syn_proxy(bool on) override {
        if (engine_) engine_->set_syn_proxy(on);
    }
    std::vector<FrontendTraffic> frontend_traffic() const override;
    bool list_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) const override;
    TraceResult trace(const TracePacket& p) const override {
        const uint32_t now_s = static_cast<uint32_t>(clock_.ns(rte_rdtsc()) / 1'000'000'000);
        TraceResult r = engine::trace_new_flow(*services_->current(), engine_->affinity(), p, now_s);
        if (engine_->syn_proxy() && p.proto == 6 && r.verdict == "forward" && !r.service.empty())
            r.steps.push_back({"SYN proxy", "on: the SYN is answered with a SYN cookie; the endpoint above gets the "
                                            "connection when the client's ACK returns the cookie"});
        if (model_.new_flows_per_source != 0 && r.verdict == "forward" && !r.service.empty())
            r.steps.push_back({"per-source limit", std::to_string(model_.new_flows_per_source) + " new flows/s per source (burst " +
                                                       std::to_string(model_.per_source_burst()) +
                                                       "): beyond it the flow is refused (new_flow_rate_limited)"});
        return r;
    }
    bool arm_capture(const fastpath::CaptureRequest& r, std::string& err) override;
    void disarm_capture() override { capture_.disarm(); }
    unsigned drain_capture(const std::function<void(const fastpath::CapturedFrame&)>& sink) override {
        return capture_ready_ ? capture_.drain(sink) : 0;
    }
    fastpath::CaptureState capture_state() const override { return capture_.state(); }

private:
    fastpath::Counters read_counters() const;
    bool start_ports(const Model& m, std::string& err);
    struct Announcements {
        std::vector<std::pair<uint16_t, uint32_t>> arp;
        std::vector<std::pair<uint16_t, Ip6>> nd;
    };
    Announcements new_announcements(const engine::ServiceTable& table, const engine::ServiceTable* previous) const;
    void announce(const Announcements& a);
    engine::FrontendTotals frontend_sum(uint16_t slot) const;
    std::unique_ptr<engine::ServiceTable> build_table(const Model& m, std::string& err);

    bool owns_eal_;
    bool stopped_ = false;
    fastpath::Counters final_counters_;  // taken by stop() once the workers left their loops
    Model model_;
    std::vector<unsigned> worker_lcores_;
    rte_mempool* pool_ = nullptr;
    std::vector<uint16_t> ports_;
    std::vector<rte_ether_addr> macs_;
    std::unique_ptr<QsbrDomain> qsbr_;
    std::unique_ptr<engine::EngineShared> engine_;
    std::unique_ptr<RcuSnapshot<engine::ServiceTable>> services_;
    std::vector<std::unique_ptr<engine::WorkerContext>> contexts_;
    engine::FrontendSlots frontend_slots_;
    std::vector<engine::FrontendTotals> frontend_base_ = std::vector<engine::FrontendTotals>(engine::kFrontendSlots);
    TscClock clock_;
    CaptureTap capture_;
    bool capture_ready_ = false;
    std::vector<std::unique_ptr<EngineStage>> stages_;
    std::unique_ptr<WorkerSet> workers_ = std::make_unique<WorkerSet>();
    std::unique_ptr<ExceptionPath> exceptions_;  // with exceptionPath
};

bool DpdkFastPath::start_ports(const Model& m, std::string& err) {
    if (m.interfaces.empty()) {
        err = "interfaces: the dpdk data path needs at least one interface";
        return false;
    }
    if (m.interfaces.size() > kMaxPorts) {
        err = "interfaces: at most " + std::to_string(kMaxPorts) + " are supported, got " +
              std::to_string(m.interfaces.size());
        return false;
    }
    PortSizing sizing;
    sizing.queues = static_cast<uint16_t>(m.workers);
    const uint32_t mbufs = pool_size_for(static_cast<unsigned>(m.interfaces.size()), sizing,
                                         rte_lcore_count(), kBurstSize, kPoolCache);
    pool_ = create_packet_pool(mbufs, kPoolCache, err);
    if (pool_ == nullptr) return false;
    for (size_t i = 0; i < m.interfaces.size(); ++i) {
        uint16_t port = 0;
        if (!probe_port(m.interfaces[i].device, iface_field(m, i), port, err)) return false;
        for (uint16_t seen : ports_)
            if (seen == port) {
                err = iface_field(m, i) + ": names a port another interface uses already";
                return false;
            }
        rte_ether_addr mac{};
        ports_.push_back(port);
        if (!start_port(port, sizing, pool_, iface_field(m, i), mac, err)) return false;
        macs_.push_back(mac);
    }
    return true;
}

// Addresses `table` answers for, per interface (`list(table, port)`: ARP's or neighbour
// discovery's), that `previous` did not (`answers(previous, port, addr)`; all of them when there
// is no previous table): the ones to announce.
template <typename List, typename Answers>
auto new_addresses(const engine::ServiceTable& table, const engine::ServiceTable* previous, size_t ports, List list,
                   Answers answers) {
    using Addr = typename std::decay_t<decltype(list(table, 0))>::value_type;
    std::vector<std::pair<uint16_t, Addr>> out;
    for (uint16_t i = 0; i < ports && i < table.ifaces().size(); ++i)
        for (const Addr& addr : list(table, i))
            if (previous == nullptr || !answers(*previous, i, addr)) out.emplace_back(i, addr);
    return out;
}

DpdkFastPath::Announcements DpdkFastPath::new_announcements(const engine::ServiceTable& table,
                                                            const engine::ServiceTable* previous) const {
    using engine::ServiceTable;
    return {new_addresses(
                table, previous, ports_.size(),
                [](const ServiceTable& t, uint16_t i) -> const auto& { return t.arp_addresses(i); },
                [](const ServiceTable& t, uint16_t i, uint32_t a) { return t.answers_arp(i, a); }),
            new_addresses(
                table, previous, ports_.size(),
                [](const ServiceTable& t, uint16_t i) -> const auto& { return t.nd_addresses(i); },
                [](const ServiceTable& t, uint16_t i, const Ip6& a) { return t.answers_nd(i, a); })};
}

// Gratuitous ARP (RFC 5227 2.4) and unsolicited neighbour advertisements (RFC 4861 7.2.6) for
// each (interface, address), so neighbours learn or relearn where the address lives. Worker 0
// sends them: the control thread owns no TX queue.
void DpdkFastPath::announce(const Announcements& a) {
    const auto& ifaces = services_->current()->ifaces();
    auto send = [&](uint16_t iface, auto&& build) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        if (m == nullptr) return false;
        if (build(m) && workers_->send_from_control(iface, m)) return true;
        rte_pktmbuf_free(m);
        return false;
    };
    for (const auto& one : a.arp) {
        const auto& info = ifaces[one.first];
        const uint32_t addr = one.second;
        if (!send(one.first, [&](rte_mbuf* m) { engine::build_garp(m, info, addr); return true; })) return;
    }
    for (const auto& one : a.nd) {
        const engine::NdIface nd{ifaces[one.first].mac, true};
        const Ip6& addr = one.second;
        if (!send(one.first, [&](rte_mbuf* m) { return engine::build_unsolicited_na(m, nd, addr); })) return;
    }
}

bool DpdkFastPath::bring_up(const Model& m, std::string& err) {
    model_ = m;
    if (!pick_worker_lcores(m.workers, worker_lcores_, err)) return false;
    if (!start_ports(m, err)) return false;

    // One QSBR variable guards both the ServiceTable snapshots and the flow table's entries:
    // the workers' single quiescent report per loop turn covers both.
    qsbr_ = std::make_unique<QsbrDomain>();
    if (!qsbr_->init(m.workers, err)) return false;
    engine::EngineConfig cfg = engine::EngineConfig::from_model(m);
    cfg.qsbr = qsbr_->get();
    engine_ = engine::EngineShared::create(cfg, err);
    if (!engine_) return false;

    auto table = build_table(m, err);
    if (!table) return false;
    services_ = std::make_unique<RcuSnapshot<engine::ServiceTable>>(qsbr_->get());
    services_->publish(std::move(table));

    if (!workers_->init(m.workers, ports_, qsbr_->get(), err)) return false;
    if (!capture_.init(err)) return false;
    capture_ready_ = true;
    workers_->set_capture(&capture_);
    for (unsigned w = 0; w < m.workers; ++w) {
        contexts_.push_back(std::make_unique<engine::WorkerContext>(*engine_, w));
        stages_.push_back(std::make_unique<EngineStage>(*contexts_.back(), services_->pointer(), clock_));
        stages_.back()->set_pool(pool_);
    }
    if (m.exception_path) {
        exceptions_ = std::make_unique<ExceptionPath>();
        if (!exceptions_->open(m, macs_, m.workers, pool_, err)) {
            err += " (exceptionPath: false runs the fast path without it)";
            return false;
        }
        for (unsigned w = 0; w < m.workers; ++w) contexts_[w]->exceptions.attach(exceptions_->ring(w));
    }
    announce(new_announcements(*services_->current(), nullptr));
    std::vector<EngineStage*> stage_ptrs;
    for (auto& s : stages_) stage_ptrs.push_back(s.get());
    if (!workers_->launch<EngineStage>(worker_lcores_, stage_ptrs, err)) return false;
    if (exceptions_)
        exceptions_->start([this](uint16_t iface, rte_mbuf* mb) { return workers_->send_from_control(iface, mb); });
    return true;
}

bool DpdkFastPath::update(const Model& m, std::string& err) {
    if (stopped_) {
        err = "fast path: stopped";
        return false;
    }
    err = fastpath::FastPath::restart_reason(model_, m);
    if (!err.empty()) return false;
    auto table = build_table(m, err);
    if (!table) return false;
    const Announcements moved_in = new_announcements(*table, services_->current());
    // Removed endpoints leave with the old snapshot: the engine checks a UDP flow's backend
    // against the current snapshot on every hit, so those flows move on their next datagram.
    services_->publish(std::move(table));
    announce(moved_in);
    model_ = m;
    return true;
}

// A frontend that takes a slot (new, or reusing one a gone frontend left) counts from the
// workers' current values on.
std::unique_ptr<engine::ServiceTable> DpdkFastPath::build_table(const Model& m, std::string& err) {
    auto table = engine::build_service_table(m, macs_, err, &frontend_slots_, services_ ? services_->current() : nullptr);
    if (!table) {
        frontend_slots_.abandon();
        return nullptr;
    }
    for (uint16_t slot : frontend_slots_.finish()) frontend_base_[slot] = frontend_sum(slot);
    return table;
}

engine::FrontendTotals DpdkFastPath::frontend_sum(uint16_t slot) const {
    engine::FrontendTotals t;
    for (const auto& w : contexts_) t += w->frontends.read(slot);
    return t;
}

std::vector<FrontendTraffic> DpdkFastPath::frontend_traffic() const {
    std::vector<FrontendTraffic> out;
    if (stopped_ || !services_) return out;
    const engine::ServiceTable& st = *services_->current();
    for (const engine::FrontendEntry& f : st.frontends()) {
        if (f.slot == 0) continue;
        const engine::FrontendTotals t = frontend_sum(f.slot) - frontend_base_[f.slot];
        out.push_back(FrontendTraffic{f.ip, f.port, static_cast<Proto>(f.entry->proto),
                                      t.connections, t.packets, t.bytes});
    }
    for (const engine::FrontendEntry6& f : st.v6().frontends()) {
        if (f.slot == 0) continue;
        const engine::FrontendTotals t = frontend_sum(f.slot) - frontend_base_[f.slot];
        out.push_back(FrontendTraffic{0, f.port, static_cast<Proto>(f.proto), t.connections, t.packets, t.bytes,
                                      true, f.ip});
    }
    return out;
}

void DpdkFastPath::stop() {
    if (stopped_) return;
    stopped_ = true;
    // Everything that holds DPDK memory goes before rte_eal_cleanup.
    workers_->stop();
    exceptions_.reset();  // after the workers (no more frames for it), before their ring goes
    final_counters_ = read_counters();
    for (uint16_t p : ports_) close_port(p);
    ports_.clear();
    workers_.reset();
    stages_.clear();
    contexts_.clear();
    services_.reset();
    engine_.reset();
    qsbr_.reset();
    capture_.release();
    capture_ready_ = false;
    if (pool_ != nullptr) rte_mempool_free(pool_);
    pool_ = nullptr;
    if (owns_eal_) eal_cleanup_and_remove_runtime_dir();
}

fastpath::Counters DpdkFastPath::read_counters() const {
    fastpath::Counters c;
    const size_t nb_ports = model_.interfaces.size();
    for (size_t p = 0; p < nb_ports; ++p) c.ports.push_back({model_.interfaces[p].name, 0, 0, 0});
    // A start that failed half way has fewer engine contexts than worker plans.
    const size_t nb_workers = workers_ ? std::min<size_t>(workers_->size(), contexts_.size()) : 0;
    c.workers.resize(nb_workers);
    for (unsigned w = 0; w < nb_workers; ++w) {
        const WorkerIoStats& io = workers_->stats(w);
        fastpath::WorkerCounters& wc = c.workers[w];
        for (size_t p = 0; p < nb_ports; ++p) {
            fastpath::PortCounters& pc = c.ports[p];
            const uint64_t rx = io.rx_packets[p].get(), tx = io.tx_packets[p].get();
            pc.rx_packets += rx;
            pc.tx_packets += tx;
            pc.tx_ring_full += io.tx_ring_full[p].get();
            wc.rx_packets += rx;
            wc.tx_packets += tx;
        }
        wc.loop_cycles = io.loop_cycles.get();
        wc.busy_cycles = io.busy_cycles.get();
        if (engine_) wc.snat_fill = engine_->snat().fill(w);
        const engine::WorkerStats& es = contexts_[w]->stats;
        wc.forwarded_nat = es.forwarded_nat();
        wc.forwarded_plain = es.forwarded_plain();
        wc.flows_created = es.flows_created();
        for (size_t r = 0; r < engine::kReasonCount; ++r) wc.reasons[r] = es.reason(static_cast<engine::Reason>(r));
    }
    if (engine_) {
        const ct::ConntrackStats fs = engine_->flows().stats();
        c.flows_in_use = fs.live;
        c.half_open_flows = fs.half_open;
        c.early_dropped = fs.early_dropped;
        // conntrack.maxFlows, what the operator set: the IPv6 table (when the gateway has an IPv6
        // address) preallocates as many again, but each family runs out on its own, so the sum
        // would let one family's full table hide at half the gauge. With both families' flows
        // in flows_in_use, flows_in_use / flow_capacity errs towards early, never late.
        c.flow_capacity = engine_->flows().capacity();
        if (const ct::ConntrackTable6* t6 = engine_->flows6()) {
            const ct::ConntrackStats fs6 = t6->stats();
            c.flows_in_use += fs6.live;
            c.half_open_flows += fs6.half_open;
            c.early_dropped += fs6.early_dropped;
        }
        c.syn_proxy = engine_->syn_proxy();
    }
    return c;
}

fastpath::Counters DpdkFastPath::counters() const { return stopped_ ? final_counters_ : read_counters(); }

bool DpdkFastPath::arm_capture(const fastpath::CaptureRequest& r, std::string& err) {
    if (stopped_ || !capture_ready_) {
        err = "fast path: stopped";
        return false;
    }
    if (r.iface >= ports_.size()) {
        err = "capture: no interface " + std::to_string(r.iface);
        return false;
    }
    return capture_.arm(r, err);
}

FlowTuple host_tuple(const ct::FlowKey& k) {
    return FlowTuple{rte_be_to_cpu_32(k.src_ip), rte_be_to_cpu_32(k.dst_ip), rte_be_to_cpu_16(k.src_port),
                     rte_be_to_cpu_16(k.dst_port)};
}

// Ports in host order, addresses as they are (FlowTuple keeps IPv6 in network order).
FlowTuple host_tuple(const ct::FlowKey6& k) {
    FlowTuple t;
    t.src6 = k.src_ip;
    t.dst6 = k.dst_ip;
    t.sport = rte_be_to_cpu_16(k.src_port);
    t.dport = rte_be_to_cpu_16(k.dst_port);
    return t;
}

// One flow of either table as the listing shows it; `now` in the table's clock (seconds).
template <class Snapshot>
TrackedFlow tracked_flow(const Snapshot& s, uint32_t now) {
    TrackedFlow f;
    f.proto = s.key[0].proto;
    f.ipv6 = std::is_same_v<Snapshot, ct::FlowSnapshot6>;
    f.orig = host_tuple(s.key[0]);
    f.reply = host_tuple(s.key[1]);
    if (f.proto == net::kProtoTcp)
        f.state = ct::tcp_state_name(static_cast<ct::TcpState>(s.state));
    else
        f.state = (s.flags & ct::kFlowSeenReply) ? "REPLIED" : "UNREPLIED";
    f.age_s = now >= s.created ? now - s.created : 0;
    // Same rule as the table's ageing: the timeout counts from the last valid packet.
    const uint32_t idle = now >= s.last_seen ? now - s.last_seen : 0;
    f.timeout_s = idle < s.timeout ? s.timeout - idle : 0;
    return f;
}

bool DpdkFastPath::list_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) const {
    if (stopped_ || !engine_) {
        err = "fast path: stopped";
        return false;
    }
    // The table's clock: whole seconds of the workers' TscClock.
    const uint32_t now = static_cast<uint32_t>(clock_.ns(rte_rdtsc()) / 1'000'000'000);
    // IPv4 first, then the IPv6 table (none when the gateway has no IPv6 address); a visit
    // that returns false ends the whole listing.
    bool more = true;
    ct::walk_flows(engine_->flows(), [&](const ct::FlowSnapshot& s) { return more = visit(tracked_flow(s, now)); });
    if (more && engine_->flows6() != nullptr)
        ct::walk_flows(*engine_->flows6(), [&](const ct::FlowSnapshot6& s) { return visit(tracked_flow(s, now)); });
    return true;
}

std::unique_ptr<fastpath::FastPath> start_impl(const Model& m, bool owns_eal, std::string& err) {
    auto fp = std::make_unique<DpdkFastPath>(owns_eal);
    if (!fp->bring_up(m, err)) return nullptr;
    return fp;
}

}  // namespace

std::unique_ptr<fastpath::FastPath> start_on_running_eal(const Model& m, std::string& err) {
    return start_impl(m, false, err);
}

}  // namespace nfgate::port

namespace nfgate::fastpath {

std::unique_ptr<FastPath> FastPath::start(const Model& m, std::string& err) {
    if (!port::init_eal(m.eal_args, err)) return nullptr;
    return port::start_impl(m, true, err);
}

}  // namespace nfgate::fastpath

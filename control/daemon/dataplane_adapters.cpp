#include "control/daemon/dataplane_adapters.hpp"

#include "control/log/rate_limited_log.hpp"
#include "dataplane/fast_path.hpp"
#include "dataplane/port/eal_log.hpp"
#include "nft/conntrack_dump.hpp"
#include "nft/flood_figures.hpp"
#include "nft/frontend_counters.hpp"
#include "nft/kernel_path.hpp"
#include "nft/owner_lock.hpp"
#include "nft/nft_render.hpp"
#include "nft/ruleset_trace.hpp"

namespace nfgate::daemon {

namespace {

// DPDK's own messages, a driver's about the frames it receives among them: nfgate's log lines,
// through a per-second budget (EAL's start-up says about 15 lines at once).
void log_dpdk(int syslog_priority, std::string_view message) {
    static log::RateLimitedLog dpdk_log("dpdk: ", 50);
    dpdk_log.write(static_cast<log::Level>(syslog_priority), message);
}

// The kernel forwards on its own once the ruleset is in: stopping nfgate leaves it in place,
// as kube-proxy does; `nfgate --cleanup` removes it.
class KernelDataplane final : public Dataplane {
public:
    bool start(const Model& m, std::string& err) override {
        if (!owner_.acquire(err) || !kernel_.apply(m, err)) return false;
        if (kernel_.adopted())
            log::line(log::Level::notice, "kernel path: adopted the ruleset an earlier run left (nothing rewritten)");
        return true;
    }
    bool update(const Model& m, std::string& err) override { return kernel_.apply(m, err); }
    // The ruleset stays in force; sealed, the next start adopts it instead of rewriting it. The
    // SYN proxy goes off first: nf_conntrack_tcp_loose gets its value back, and with it loose a
    // proxied handshake could not complete.
    void stop() override {
        set_syn_proxy(false);
        std::string err;
        if (!kernel_.seal(err)) log::line(log::Level::warning, "kernel path: cannot seal the ruleset at stop: " + err);
    }
    void set_syn_proxy(bool on) override {
        std::string err;
        if (!kernel_.set_syn_proxy(on, err))
            log::line(log::Level::warning, std::string("kernel path: cannot switch the SYN proxy ") + (on ? "on: " : "off: ") + err);
    }
    bool kernel_syn_proxy() const override { return kernel_.syn_proxy(); }
    std::optional<nft::FloodFigures> flood_figures(const Model& m) const override {
        nft::FloodFigures f;
        std::string err;
        if (nft::read_flood_figures(m, f, err)) return f;
        static log::RateLimitedLog flood_log("kernel path: ", 1);
        flood_log.write(log::Level::warning, "cannot read the SYN-flood figures: " + err);
        return std::nullopt;
    }
    bool list_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) const override {
        return nft::dump_kernel_flows(visit, err);
    }
    bool frontend_traffic(std::vector<FrontendTraffic>& out, std::string& err) const override {
        return traffic_.read(out, err);
    }
    // Walks the ruleset this model renders to: what apply() installed for it (an IPv6 packet:
    // the `ip6 nfgate` table).
    TraceResult trace(const Model& m, const TracePacket& p) const override {
        return nft::trace_ruleset(m, nft::render(m, kernel_.syn_proxy(), p.ipv6 ? nft::Family::ip6 : nft::Family::ip), p);
    }

private:
    nft::OwnerLock owner_;
    nft::KernelPath kernel_;
    mutable nft::KernelTraffic traffic_;  // running totals: reading them adds what was counted since
};

class FastDataplane final : public Dataplane {
public:
    ~FastDataplane() override { stop(); }
    bool start(const Model& m, std::string& err) override {
        port::set_eal_log_sink(&log_dpdk);
        fast_ = fastpath::FastPath::start(m, err);
        return fast_ != nullptr;
    }
    bool update(const Model& m, std::string& err) override {
        if (!fast_) {
            err = "the fast path is not running";
            return false;
        }
        return fast_->update(m, err);
    }
    void stop() override {
        if (fast_) fast_->stop();
    }
    void set_syn_proxy(bool on) override {
        if (fast_) fast_->set_syn_proxy(on);
    }
    std::optional<fastpath::Counters> counters() const override {
        if (!fast_) return std::nullopt;
        return fast_->counters();
    }
    bool frontend_traffic(std::vector<FrontendTraffic>& out, std::string& err) const override {
        if (!fast_) {
            err = "the fast path is not running";
            return false;
        }
        out = fast_->frontend_traffic();
        return true;
    }

    bool list_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) const override {
        if (!fast_) {
            err = "the fast path is not running";
            return false;
        }
        return fast_->list_flows(visit, err);
    }
    TraceResult trace(const Model&, const TracePacket& p) const override {
        if (fast_) return fast_->trace(p);
        TraceResult r;
        r.verdict = "unknown";
        r.reason = "the fast path is not running";
        return r;
    }
    bool captures() const override { return true; }
    bool arm_capture(const fastpath::CaptureRequest& r, std::string& err) override {
        if (!fast_) {
            err = "the fast path is not running";
            return false;
        }
        return fast_->arm_capture(r, err);
    }
    void disarm_capture() override {
        if (fast_) fast_->disarm_capture();
    }
    unsigned drain_capture(const std::function<void(const fastpath::CapturedFrame&)>& sink) override {
        return fast_ ? fast_->drain_capture(sink) : 0;
    }
    fastpath::CaptureState capture_state() const override { return fast_ ? fast_->capture_state() : fastpath::CaptureState{}; }

protected:
    std::string fields_needing_restart(const Model& running, const Model& next) const override {
        return fastpath::FastPath::restart_reason(running, next);
    }

private:
    std::unique_ptr<fastpath::FastPath> fast_;
};

}  // namespace

std::unique_ptr<Dataplane> make_dataplane(DataplaneKind kind) {
    if (kind == DataplaneKind::dpdk) return std::make_unique<FastDataplane>();
    return std::make_unique<KernelDataplane>();
}

}  // namespace nfgate::daemon

// What the daemon needs from a data path: start it with a model, update it, stop it, read its
// counters, and which changes only a restart applies.
// The kernel and fast paths are adapted to this in dataplane_adapters; tests use a fake.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "dataplane/capture.hpp"
#include "dataplane/counters.hpp"
#include "model/frontends.hpp"
#include "model/model.hpp"
#include "model/trace_result.hpp"
#include "model/tracked_flow.hpp"
#include "nft/flood_figures.hpp"

namespace nfgate::daemon {

class Dataplane {
public:
    virtual ~Dataplane() = default;
    // Installs `m` and starts forwarding. On failure `err` says what was refused.
    virtual bool start(const Model& m, std::string& err) = 0;
    // Replaces the running model with `m`, atomically: on failure the old one stays in force.
    virtual bool update(const Model& m, std::string& err) = 0;
    // Stops forwarding as the data path's exit convention says (the kernel path keeps its rules).
    virtual void stop() = 0;
    // The fast path's counters (packets, flows, drops per reason); none where the data path
    // keeps none of its own (the kernel path: see `nft list ruleset`, `conntrack -S`).
    virtual std::optional<fastpath::Counters> counters() const { return std::nullopt; }
    // The SYN proxy of either path (see SynFloodGuard): the fast path's cookies, the kernel
    // path's nftables synproxy set (nft/nft_flood_render.hpp).
    virtual void set_syn_proxy(bool on) { (void)on; }
    // The kernel path's SYN-flood figures for `m`, read now (nft/flood_figures.hpp); none where
    // counters() carries them (the fast path) or they cannot be read.
    virtual std::optional<nft::FloodFigures> flood_figures(const Model& m) const {
        (void)m;
        return std::nullopt;
    }
    // Whether the kernel path's SYN proxy is on now (the fast path reports it in counters()).
    virtual bool kernel_syn_proxy() const { return false; }

    // The one "needs a restart" rule: "" when update(next) may replace `running`; otherwise the
    // field that changed and why only a restart applies it. A daemon runs one data path for its
    // life (DPDK owns the ports once started), then each data path names its own start-only
    // fields.
    std::string restart_reason(const Model& running, const Model& next) const;

    // New connections, packets and bytes per frontend, as the data path counts them (see
    // FrontendTraffic). False with `err` where it counts none or cannot read them now.
    virtual bool frontend_traffic(std::vector<FrontendTraffic>& out, std::string& err) const {
        (void)out;
        err = "this data path counts no traffic per Service";
        return false;
    }

    // Walks the tracked connections (the fast path's flow table, the kernel's conntrack) without
    // stopping forwarding, until `visit` returns false. False with `err` if they cannot be read.
    virtual bool list_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) const {
        (void)visit;
        err = "this data path lists no flows";
        return false;
    }

    // What `p`, a new connection's first packet, would meet on this data path now, with `m` in
    // force. Creates nothing.
    virtual TraceResult trace(const Model& m, const TracePacket& p) const {
        (void)m, (void)p;
        TraceResult r;
        r.verdict = "unknown";
        r.reason = "this data path cannot trace";
        return r;
    }

    // Packet capture, where the data path copies frames itself (the fast path).
    virtual bool captures() const { return false; }
    virtual bool arm_capture(const fastpath::CaptureRequest&, std::string& err) {
        err = "this data path does not capture";
        return false;
    }
    virtual void disarm_capture() {}
    virtual unsigned drain_capture(const std::function<void(const fastpath::CapturedFrame&)>&) { return 0; }
    virtual fastpath::CaptureState capture_state() const { return {}; }

protected:
    // This data path's start-only fields that changed; "" when none did.
    virtual std::string fields_needing_restart(const Model& running, const Model& next) const;
};

}  // namespace nfgate::daemon

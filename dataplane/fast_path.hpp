// The fast path as the daemon sees it: DPDK workers forwarding a Model's Services.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "dataplane/capture.hpp"
#include "dataplane/counters.hpp"
#include "model/frontends.hpp"
#include "model/model.hpp"
#include "model/trace_result.hpp"
#include "model/tracked_flow.hpp"

namespace nfgate::fastpath {

class FastPath {
public:
    virtual ~FastPath() = default;

    // Initialises EAL from m.eal_args, brings up one port per m.interfaces entry (one RX/TX
    // queue pair per worker), publishes the first ServiceTable and launches m.workers worker
    // lcores. Returns nullptr with `err` set on failure.
    static std::unique_ptr<FastPath> start(const Model& m, std::string& err);

    // "" when a fast path running `running` can take `next` through update(); otherwise a
    // message naming the first field that only a restart applies (eal, workers,
    // conntrack.maxFlows, an interface): EAL, queues and preallocated tables are set up once.
    static std::string restart_reason(const Model& running, const Model& next);

    // Builds a new immutable ServiceTable and publishes it by pointer swap; the old one is freed
    // after an RCU grace period. Changes restart_reason() names are refused with `err` and
    // nothing changes.
    virtual bool update(const Model& m, std::string& err) = 0;

    // Stops the workers and releases the ports. Idempotent.
    virtual void stop() = 0;

    // Packets per port and per worker, drops per reason, flows (see counters.hpp). Lock-free;
    // after stop(), the counters as the workers left them.
    virtual Counters counters() const = 0;

    // Switches the SYN proxy for Service frontends (engine/syn_proxy.hpp) on or off; the
    // workers see it on their next SYN. Control thread only.
    virtual void set_syn_proxy(bool on) = 0;

    // New connections, packets and bytes of every frontend of the current snapshot since it
    // appeared, summed over the workers (lock-free reads). Control thread only.
    virtual std::vector<FrontendTraffic> frontend_traffic() const = 0;

    // Walks the flow table from the calling (non-worker) thread while the workers forward; see
    // conntrack_walk.hpp for what a concurrent change does to the listing. False with err once
    // stopped.
    virtual bool list_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) const = 0;

    // What a new connection's first packet `p` would meet now (the workers' own decision code
    // against the current snapshot); creates nothing. Control thread only.
    virtual TraceResult trace(const TracePacket& p) const = 0;

    // Packet capture (control thread only): arm copies of the next frames of one interface;
    // drain hands over what the workers copied so far; see port/capture_tap.hpp.
    virtual bool arm_capture(const CaptureRequest& r, std::string& err) = 0;
    virtual void disarm_capture() = 0;
    virtual unsigned drain_capture(const std::function<void(const CapturedFrame&)>& sink) = 0;
    virtual CaptureState capture_state() const = 0;
};

}  // namespace nfgate::fastpath

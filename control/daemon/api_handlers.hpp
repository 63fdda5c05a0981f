// The daemon's side of the control API: each command answered from the model in force, the
// controller's reload history and the data path's own figures. Runs on the control thread only
// (the same thread that reloads), so it needs no lock against the controller; what it reads of
// the workers it reads as they publish it (relaxed counters, the RCU-protected flow table).
#pragma once

#include <chrono>
#include <functional>

#include "control/api/api_answers.hpp"
#include "control/api/api_socket.hpp"
#include "control/bgp/bird_speaker.hpp"
#include "control/daemon/capture_session.hpp"
#include "control/daemon/dataplane.hpp"
#include "control/daemon/gateway_controller.hpp"

namespace nfgate::daemon {

class DaemonApi {
public:
    using Reload = std::function<Outcome()>;

    DaemonApi(std::string config_path, const GatewayController& controller, Dataplane& dp, Reload reload);

    // A request {"command": ..., "args": {...}} -> {"ok": ..., "result"|"error": ...}. A
    // capture takes `later` over and answers when it is done.
    api::Json handle(const api::Json& request, std::unique_ptr<api::Reply>& later);

    // The capture in progress, if any: the daemon polls it often while it is active.
    CaptureSession& capture() { return capture_; }

    // Reloads the configuration and records the outcome for `status`; SIGHUP and
    // `nfgatectl reload` both come through here.
    Outcome run_reload();

    api::DaemonStatus status() const;

    // The BGP speaker `bgp` reports on (none: the command says BGP is not configured).
    void set_bgp(const bgp::BirdSpeaker* speaker) { bgp_ = speaker; }

private:
    api::Json services() const;
    api::Json flows(const api::Json& args) const;
    api::Json counters() const;
    api::Json reload();
    void record_reload(const Outcome& o);

    std::string config_path_;
    const GatewayController& controller_;
    Dataplane& dp_;
    Reload reload_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    api::DaemonStatus history_;
    CaptureSession capture_;
    const bgp::BirdSpeaker* bgp_ = nullptr;
};

}  // namespace nfgate::daemon

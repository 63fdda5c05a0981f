// Decides what a (re)load does: start or update the data path with a new model, or refuse it
// and keep the model in force. No signals, files or I/O here, so it is unit-tested with a fake
// Dataplane.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/daemon/dataplane.hpp"
#include "control/loader/config_loader.hpp"

namespace nfgate::daemon {

struct Outcome {
    bool ok = false;
    std::string status;                // the one stdout line: "nfgate: ready", "nfgate: reloaded", ...
    std::vector<std::string> details;  // every error, one per line, for stderr
};

class GatewayController {
public:
    explicit GatewayController(Dataplane& dp) : dp_(dp) {}

    // The first load: starts the data path. status is "nfgate: ready" on success.
    Outcome start(const loader::LoadResult& loaded);
    // A SIGHUP: "nfgate: reloaded", or "nfgate: reload rejected: <first reason>" with the
    // model in force unchanged.
    Outcome reload(const loader::LoadResult& loaded);

    // The model in force; empty before a successful start.
    const std::optional<Model>& current() const { return current_; }

private:
    Dataplane& dp_;
    std::optional<Model> current_;
};

// "N Services, M ports, K endpoints (R ready)" for logs.
std::string model_summary(const Model& m);

}  // namespace nfgate::daemon

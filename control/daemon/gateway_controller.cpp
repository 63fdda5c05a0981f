#include "control/daemon/gateway_controller.hpp"

namespace nfgate::daemon {

namespace {

Outcome config_errors(const loader::LoadResult& loaded, const std::string& prefix) {
    Outcome out;
    for (const auto& d : loaded.errors) out.details.push_back(d.str());
    out.status = prefix + loaded.errors.front().str();  // the rest are in details, for stderr
    return out;
}

}  // namespace

Outcome GatewayController::start(const loader::LoadResult& loaded) {
    if (!loaded.ok()) return config_errors(loaded, "nfgate: config rejected: ");
    Outcome out;
    std::string err;
    if (!dp_.start(loaded.model, err)) {
        out.status = "nfgate: start failed: " + err;
        out.details.push_back(err);
        return out;
    }
    current_ = loaded.model;
    out.ok = true;
    out.status = "nfgate: ready";
    return out;
}

Outcome GatewayController::reload(const loader::LoadResult& loaded) {
    const std::string rejected = "nfgate: reload rejected: ";
    if (!loaded.ok()) return config_errors(loaded, rejected);
    Outcome out;
    if (!current_) {
        out.status = rejected + "the data path is not running";
        return out;
    }
    // A change only a restart applies never reaches the data path.
    std::string err = dp_.restart_reason(*current_, loaded.model);
    if (!err.empty() || !dp_.update(loaded.model, err)) {
        out.status = rejected + err;
        out.details.push_back(err);
        return out;
    }
    current_ = loaded.model;
    out.ok = true;
    out.status = "nfgate: reloaded";
    return out;
}

std::string model_summary(const Model& m) {
    size_t ports = 0, endpoints = 0, ready = 0;
    for (const auto& s : m.services)
        for (const auto& p : s.ports) {
            ++ports;
            endpoints += p.endpoints.size() + p.endpoints6.size();
            ready += p.ready_count();
            for (const auto& e : p.endpoints6) ready += e.ready ? 1 : 0;
        }
    return std::to_string(m.services.size()) + " Services, " + std::to_string(ports) + " ports, " +
           std::to_string(endpoints) + " endpoints (" + std::to_string(ready) + " ready)";
}

}  // namespace nfgate::daemon

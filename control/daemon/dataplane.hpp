// What the daemon needs from a data path: start it with a model, update it, stop it.
// The kernel and fast paths are adapted to this in dataplane_adapters; tests use a fake.
#pragma once

#include <functional>
#include <string>

#include "model/model.hpp"
#include "model/tracked_flow.hpp"

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
    // Counters as "name value" lines (the fast path's per-reason drops, packets, flows); empty
    // where the data path keeps none of its own (the kernel path: see `nft list ruleset`,
    // `conntrack -S`).
    virtual std::string stats_text() const { return {}; }
    // Walks the tracked connections (the fast path's flow table, the kernel's conntrack) without
    // stopping forwarding, until `visit` returns false. False with `err` if they cannot be read.
    virtual bool list_flows(const std::function<bool(const TrackedFlow&)>& visit, std::string& err) const {
        (void)visit;
        err = "this data path lists no flows";
        return false;
    }
};

}  // namespace nfgate::daemon

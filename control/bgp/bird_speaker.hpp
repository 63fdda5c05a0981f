// nfgate's BGP speaker: its own BIRD 2 process, run and supervised from the control thread.
// nfgate writes BIRD's configuration (bird_config.hpp) and talks to it over BIRD's control
// socket; it never speaks BGP itself. Nothing here can take serving state away: a BIRD that
// fails to start, dies or refuses a configuration is logged (and restarted), the data path
// carries on.
//
//   apply()  after every model the data path took: starts BIRD the first time, afterwards
//            rewrites the files and asks for `configure` (BIRD restarts only the sessions
//            whose own configuration changed; a new list of routes flaps nothing).
//   tick()   once a second: a BIRD that exited is started again (1 s, doubling to 30 s).
//   stop()   withdraws every route, gives the updates a moment to leave, then shuts BIRD down.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/bgp/bird_config.hpp"
#include "control/bgp/bird_reply.hpp"
#include "model/model.hpp"

namespace nfgate::bgp {

class BirdSpeaker {
public:
    explicit BirdSpeaker(std::string bird_binary = "bird") : binary_(std::move(bird_binary)) {}
    ~BirdSpeaker() { stop(); }
    BirdSpeaker(const BirdSpeaker&) = delete;
    BirdSpeaker& operator=(const BirdSpeaker&) = delete;

    // Follows `m.bgp` and the prefixes `m` announces. False with `err` when BIRD could not be
    // started or refused the configuration (BIRD keeps its previous one then).
    bool apply(const Model& m, std::string& err);
    void tick();
    void stop();

    bool enabled() const { return settings_.enabled; }
    bool running() const { return pid_ > 0; }
    uint64_t restarts() const { return restarts_; }
    const std::vector<Cidr>& announced() const { return announced_; }
    const std::vector<Cidr6>& announced6() const { return announced6_; }
    const BirdPaths& paths() const { return paths_; }

    // The sessions as BIRD reports them now (empty with `err` when it cannot be asked).
    std::vector<BgpSession> sessions(std::string& err) const;

    // One command on BIRD's control socket; `timeout` bounds connect, send and the reply.
    static bool command(const std::string& socket, const std::string& cmd, BirdReply& reply, std::string& err,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

private:
    bool write_files(std::string& err) const;
    bool spawn(std::string& err);
    bool wait_ready(std::string& err);
    bool reconfigure(std::string& err) const;
    void reap(bool block);

    std::string binary_;
    BgpSettings settings_;
    BirdPaths paths_;
    std::vector<Cidr> announced_;
    std::vector<Cidr6> announced6_;
    pid_t pid_ = -1;
    uint64_t restarts_ = 0;
    std::chrono::seconds backoff_{1};
    std::chrono::steady_clock::time_point next_start_{};
};

}  // namespace nfgate::bgp

// One `nfgatectl capture` at a time: arms the fast path's capture, drains the copies into a
// pcap file (libpcap's writer, so tcpdump and wireshark read it as they read their own), and
// answers the waiting client when the count is reached or the time is up. Lives on the control
// thread; the daemon polls it every few milliseconds while it runs.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "control/api/api_socket.hpp"
#include "control/daemon/dataplane.hpp"
#include "dataplane/capture.hpp"

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace nfgate::daemon {

struct CaptureArgs {
    fastpath::CaptureRequest request;
    std::string interface;  // its name, for the answer
    std::string path;       // absolute path of the pcap file
    std::chrono::milliseconds timeout{30000};
};

// Reads {"interface","count","write","direction","timeout"} against the model's interfaces.
bool parse_capture_args(const api::Json& args, const Model& m, CaptureArgs& out, std::string& err);

class CaptureSession {
public:
    CaptureSession() = default;
    ~CaptureSession();
    CaptureSession(const CaptureSession&) = delete;
    CaptureSession& operator=(const CaptureSession&) = delete;

    bool active() const { return reply_ != nullptr; }

    // Opens the file and arms the capture; on success the session owns `reply` and answers it
    // when done. False with err (and `reply` untouched) otherwise.
    bool begin(Dataplane& dp, const CaptureArgs& a, std::unique_ptr<api::Reply>& reply, std::string& err);

    // Writes what the workers copied; finishes when the count is reached or the time is up.
    void poll(Dataplane& dp);

    // The daemon is stopping: write what there is and answer.
    void finish(Dataplane& dp, const std::string& why);

private:
    void write_pending(Dataplane& dp);

    CaptureArgs args_;
    std::unique_ptr<api::Reply> reply_;
    pcap_t* pcap_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
    uint64_t written_ = 0;
    std::chrono::steady_clock::time_point deadline_;
    // Frame clock (fast path ns) -> wall clock, taken when the capture was armed.
    int64_t wall_minus_ns_ = 0;
};

}  // namespace nfgate::daemon

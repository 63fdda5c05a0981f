#include "control/daemon/capture_session.hpp"

#include <pcap/pcap.h>

#include <ctime>

namespace nfgate::daemon {

namespace {

// Whole frames up to this length go into the file: what the workers copy (kCaptureSnap).
constexpr int kSnapLength = 256;

int64_t wall_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

bool parse_capture_args(const api::Json& args, const Model& m, CaptureArgs& out, std::string& err) {
    out = {};
    const std::string iface = args.value("interface", std::string());
    std::string names;
    for (size_t i = 0; i < m.interfaces.size(); ++i) {
        names += (i ? ", " : "") + m.interfaces[i].name;
        if (m.interfaces[i].name == iface) out.request.iface = static_cast<uint16_t>(i);
    }
    if (iface.empty() || m.interfaces.empty() || m.interfaces[out.request.iface].name != iface) {
        err = "--interface \"" + iface + "\" is not an interface of the gateway file (want one of: " + names + ")";
        return false;
    }
    out.interface = iface;
    const auto count = args.find("count");
    if (count == args.end() || !count->is_number_integer() || count->get<int64_t>() < 1 ||
        count->get<uint64_t>() > fastpath::kMaxCaptureCount) {
        err = "--count: want 1-" + std::to_string(fastpath::kMaxCaptureCount) + " packets";
        return false;
    }
    out.request.count = count->get<uint64_t>();
    out.path = args.value("write", std::string());
    if (out.path.empty() || out.path.front() != '/') {
        err = "--write: want the pcap file's path";
        return false;
    }
    const std::string dir = args.value("direction", std::string("both"));
    if (dir != "rx" && dir != "tx" && dir != "both") {
        err = "--direction " + dir + ": want rx, tx or both";
        return false;
    }
    out.request.rx = dir != "tx";
    out.request.tx = dir != "rx";
    if (auto t = args.find("timeout"); t != args.end()) {
        if (!t->is_number_integer() || t->get<int64_t>() < 1 || t->get<int64_t>() > 3600) {
            err = "--timeout: want 1-3600 seconds";
            return false;
        }
        out.timeout = std::chrono::seconds(t->get<int64_t>());
    }
    return true;
}

CaptureSession::~CaptureSession() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (pcap_ != nullptr) pcap_close(pcap_);
}

bool CaptureSession::begin(Dataplane& dp, const CaptureArgs& a, std::unique_ptr<api::Reply>& reply, std::string& err) {
    if (active()) {
        err = "a capture is already running (one at a time)";
        return false;
    }
    pcap_ = pcap_open_dead(DLT_EN10MB, kSnapLength);
    dumper_ = pcap_ != nullptr ? pcap_dump_open(pcap_, a.path.c_str()) : nullptr;
    if (dumper_ == nullptr) {
        err = "cannot write " + a.path + ": " + (pcap_ != nullptr ? pcap_geterr(pcap_) : "pcap_open_dead failed");
        if (pcap_ != nullptr) pcap_close(pcap_);
        pcap_ = nullptr;
        return false;
    }
    if (!dp.arm_capture(a.request, err)) {
        pcap_dump_close(dumper_);
        pcap_close(pcap_);
        dumper_ = nullptr;
        pcap_ = nullptr;
        return false;
    }
    args_ = a;
    written_ = 0;
    deadline_ = std::chrono::steady_clock::now() + a.timeout;
    wall_minus_ns_ = wall_ns() - static_cast<int64_t>(dp.capture_state().now_ns);
    reply_ = std::move(reply);
    return true;
}

void CaptureSession::write_pending(Dataplane& dp) {
    dp.drain_capture([&](const fastpath::CapturedFrame& f) {
        const int64_t at = wall_minus_ns_ + static_cast<int64_t>(f.ns);
        pcap_pkthdr h{};
        h.ts.tv_sec = static_cast<time_t>(at / 1'000'000'000);
        h.ts.tv_usec = static_cast<suseconds_t>((at % 1'000'000'000) / 1000);
        h.caplen = static_cast<bpf_u_int32>(f.bytes.size());
        h.len = f.wire_len;
        pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, f.bytes.data());
        ++written_;
    });
}

void CaptureSession::poll(Dataplane& dp) {
    if (!active()) return;
    write_pending(dp);
    const fastpath::CaptureState st = dp.capture_state();
    const bool done = !st.armed && st.taken + st.lost >= st.wanted;
    if (done) finish(dp, "");
    else if (std::chrono::steady_clock::now() >= deadline_) finish(dp, "timed out");
}

void CaptureSession::finish(Dataplane& dp, const std::string& why) {
    if (!active()) return;
    dp.disarm_capture();
    write_pending(dp);
    const fastpath::CaptureState st = dp.capture_state();
    pcap_dump_close(dumper_);
    pcap_close(pcap_);
    dumper_ = nullptr;
    pcap_ = nullptr;
    reply_->send(api::answer_ok(api::Json{{"interface", args_.interface},
                                           {"file", args_.path},
                                           {"wanted", args_.request.count},
                                           {"written", written_},
                                           {"lost", st.lost},
                                           {"complete", written_ >= args_.request.count},
                                           {"stopped_by", why.empty() ? "count" : why}}));
    reply_.reset();
}

}  // namespace nfgate::daemon

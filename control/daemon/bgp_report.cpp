#include "control/daemon/bgp_report.hpp"

namespace nfgate::daemon {

api::Json bgp_json(const bgp::BirdSpeaker& speaker, int64_t now_unix) {
    api::Json announced = api::Json::array();
    for (const Cidr& c : speaker.announced()) announced.push_back(cidr_to_string(c));
    for (const Cidr6& c : speaker.announced6()) announced.push_back(cidr6_to_string(c));
    std::string err;
    api::Json sessions = api::Json::array();
    for (const bgp::BgpSession& s : speaker.sessions(err)) {
        api::Json j{{"protocol", s.protocol}, {"peer", s.peer},          {"asn", s.peer_asn},
                    {"state", s.state},       {"since", s.since_unix},    {"exported", s.exported},
                    {"imported", s.imported}, {"info", s.info}};
        j["uptime_s"] = s.established() && s.since_unix > 0 ? api::Json(now_unix - s.since_unix) : api::Json(nullptr);
        sessions.push_back(std::move(j));
    }
    api::Json out{{"running", speaker.running()},
                  {"restarts", speaker.restarts()},
                  {"socket", speaker.paths().socket},
                  {"announced", std::move(announced)},
                  {"sessions", std::move(sessions)}};
    if (!err.empty()) out["error"] = err;
    return out;
}

metrics::BgpFigures bgp_figures(const bgp::BirdSpeaker& speaker) {
    metrics::BgpFigures f;
    std::string err;
    for (const bgp::BgpSession& s : speaker.sessions(err))
        f.sessions.push_back({s.peer.empty() ? s.protocol : s.peer, s.established(), s.exported});
    f.announced = speaker.announced().size() + speaker.announced6().size();
    f.speaker_running = speaker.running();
    f.speaker_restarts = speaker.restarts();
    return f;
}

}  // namespace nfgate::daemon

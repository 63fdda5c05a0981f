// What the daemon tells about its BGP speaker: the `bgp` control API answer (nfgatectl bgp) and
// the figures /metrics publishes. Both ask BIRD for its sessions over its control socket.
#pragma once

#include "control/api/api_answers.hpp"
#include "control/bgp/bird_speaker.hpp"
#include "control/metrics/metrics_text.hpp"

namespace nfgate::daemon {

// {"running", "restarts", "socket", "announced": [...], "sessions": [{"protocol", "peer", "asn",
// "state", "since", "uptime_s", "exported", "imported", "info"}], "error"?}
api::Json bgp_json(const bgp::BirdSpeaker& speaker, int64_t now_unix);

metrics::BgpFigures bgp_figures(const bgp::BirdSpeaker& speaker);

}  // namespace nfgate::daemon

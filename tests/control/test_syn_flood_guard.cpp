// When the fast path's SYN proxy goes on and off (control/daemon/syn_flood_guard.hpp).
#include <gtest/gtest.h>

#include "control/daemon/syn_flood_guard.hpp"

using namespace nfgate;
using namespace nfgate::daemon;
using engine::Reason;

namespace {

struct Flood {
    uint64_t half_open = 0, early_dropped = 0, cookies = 0, opened = 0;

    fastpath::Counters counters() const {
        fastpath::Counters c;
        c.workers.resize(1);
        c.half_open_flows = half_open;
        c.early_dropped = early_dropped;
        c.workers[0].reasons[static_cast<size_t>(Reason::syn_cookie_sent)] = cookies;
        c.workers[0].reasons[static_cast<size_t>(Reason::syn_proxy_opened)] = opened;
        return c;
    }
};

constexpr uint32_t kThreshold = 1000;

TEST(SynFloodGuard, OnAndOffAreWhatTheySay) {
    SynFloodGuard g;
    Flood f;
    auto d = g.sample(f.counters(), SynProxyMode::on, kThreshold);
    EXPECT_TRUE(d.on);
    EXPECT_NE(d.line.find("SYN proxy on"), std::string::npos);
    EXPECT_TRUE(g.sample(f.counters(), SynProxyMode::on, kThreshold).line.empty()) << "said once";
    f.half_open = 1'000'000;
    d = g.sample(f.counters(), SynProxyMode::off, kThreshold);
    EXPECT_FALSE(d.on) << "off stays off under any flood";
    EXPECT_NE(d.line.find("SYN proxy off"), std::string::npos);
}

TEST(SynFloodGuard, AutoGoesOnWithHalfOpenFlowsOrEarlyDrops) {
    SynFloodGuard g;
    Flood f;
    EXPECT_FALSE(g.sample(f.counters(), SynProxyMode::automatic, kThreshold).on);
    f.half_open = kThreshold - 1;
    EXPECT_FALSE(g.sample(f.counters(), SynProxyMode::automatic, kThreshold).on);
    f.half_open = kThreshold;
    auto d = g.sample(f.counters(), SynProxyMode::automatic, kThreshold);
    EXPECT_TRUE(d.on);
    EXPECT_NE(d.line.find("1000 half-open TCP flows"), std::string::npos) << d.line;

    SynFloodGuard h;
    Flood e;
    e.early_dropped = 50;  // before the first sample: not news
    EXPECT_FALSE(h.sample(e.counters(), SynProxyMode::automatic, kThreshold).on);
    e.early_dropped = 60;
    d = h.sample(e.counters(), SynProxyMode::automatic, kThreshold);
    EXPECT_TRUE(d.on);
    EXPECT_NE(d.line.find("gave up 10 unanswered flows"), std::string::npos) << d.line;
}

TEST(SynFloodGuard, AutoStaysOnWhileCookiesGoUnansweredThenGoesOff) {
    SynFloodGuard g;
    Flood f;
    g.sample(f.counters(), SynProxyMode::automatic, kThreshold);
    f.half_open = 5000;
    ASSERT_TRUE(g.sample(f.counters(), SynProxyMode::automatic, kThreshold).on);
    // The proxy makes no half-open flows: the table's count falls, the flood goes on as cookies.
    f.half_open = 0;
    for (unsigned s = 0; s < 300; ++s) {
        f.cookies += 100;  // 100 spoofed SYNs a second: 6000 a minute, far above 1000 / 2
        f.opened += 2;     // and two real clients
        ASSERT_TRUE(g.sample(f.counters(), SynProxyMode::automatic, kThreshold).on) << "second " << s;
    }
    // The flood stops; real clients answer their cookies.
    SynFloodGuard::Decision d;
    unsigned off_after = 0;
    for (unsigned s = 1; s <= 200 && (d.on || s == 1); ++s) {
        f.cookies += 5;
        f.opened += 5;
        d = g.sample(f.counters(), SynProxyMode::automatic, kThreshold);
        off_after = s;
    }
    EXPECT_FALSE(d.on);
    EXPECT_GE(off_after, 50u) << "a minute's memory of the flood";
    EXPECT_LE(off_after, 61u);
    EXPECT_NE(d.line.find("SYN proxy off"), std::string::npos) << d.line;
}

}  // namespace

// The kernel path feeds the same guard: conntrack's half-open entries switch it on, the kernel
// synproxy's answered SYNs against its valid cookies keep it on until the flood is over.
TEST(SynFloodGuard, KernelFiguresDriveTheSameDecisions) {
    SynFloodGuard g;
    nft::FloodFigures k;
    EXPECT_FALSE(g.sample(flood_sample(k), SynProxyMode::automatic, kThreshold).on);
    k.half_open = kThreshold;
    EXPECT_TRUE(g.sample(flood_sample(k), SynProxyMode::automatic, kThreshold).on);
    k.half_open = 0;  // the proxy answers: no entry per SYN any more
    int seconds_on = 1;
    for (; seconds_on < 200; ++seconds_on) {
        k.syn_received += seconds_on <= 90 ? 5000 : 10;  // the flood lasts 90 s, then real clients only
        k.cookie_valid += 10;
        if (!g.sample(flood_sample(k), SynProxyMode::automatic, kThreshold).on) break;
    }
    EXPECT_GT(seconds_on, 90 + 1) << "stays on while the flood's cookies go unanswered";
    EXPECT_LE(seconds_on, 90 + static_cast<int>(SynFloodGuard::kWindow) + 1) << "off once a quiet minute passed";
}

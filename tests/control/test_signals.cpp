// The control thread's wait: its tick is a deadline that other signals cannot push back.
#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "control/daemon/event_loop.hpp"
#include "control/daemon/signals.hpp"

using namespace nfgate::daemon;

namespace {

std::atomic<unsigned> g_interruptions{0};

void count_interruption(int) { g_interruptions.fetch_add(1, std::memory_order_relaxed); }

// Blocks the daemon's signals and handles SIGIO as the TAP driver does (it raises SIGIO per
// received packet); puts both back afterwards.
class SignalWait : public ::testing::Test {
protected:
    void SetUp() override {
        pthread_sigmask(SIG_SETMASK, nullptr, &mask_);
        struct sigaction sa {};
        sa.sa_handler = count_interruption;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGIO, &sa, &sigio_);
        ASSERT_TRUE(block_daemon_signals());
        std::string err;
        ASSERT_TRUE(events_.init(err)) << err;
    }
    // Waits at most `ms` from now, as the daemon does for its once-a-second tick.
    Event wait_ms(int ms) { return events_.wait(-1, std::chrono::steady_clock::now() + std::chrono::milliseconds(ms)); }
    void TearDown() override {
        // A daemon signal a failed check left pending must not act once unblocked.
        sigset_t daemon;
        sigemptyset(&daemon);
        for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&daemon, s);
        const timespec now{0, 0};
        while (sigtimedwait(&daemon, nullptr, &now) > 0) {
        }
        sigaction(SIGIO, &sigio_, nullptr);
        pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
    }

    sigset_t mask_;
    struct sigaction sigio_ {};
    EventWaiter events_;
};

TEST_F(SignalWait, TheTickComesOnTimeWhileOtherSignalsKeepInterrupting) {
    using Clock = std::chrono::steady_clock;
    const pthread_t waiter = pthread_self();
    std::atomic<bool> waiting{true};
    // A packet every 2 ms for at most 3 s: a wait that restarted its full timeout after each
    // interruption would return only after 4 s, not hang the suite.
    std::thread packets([&] {
        const Clock::time_point give_up = Clock::now() + std::chrono::seconds(3);
        while (waiting.load() && Clock::now() < give_up) {
            pthread_kill(waiter, SIGIO);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    g_interruptions = 0;
    const Clock::time_point t0 = Clock::now();
    const Event ev = wait_ms(1000);
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    const unsigned interruptions = g_interruptions.load();
    waiting = false;
    packets.join();

    EXPECT_EQ(ev, Event::tick);
    EXPECT_GE(waited, 1000);
    EXPECT_LT(waited, 1200) << "the tick is due 1 s after the wait began";
    EXPECT_GT(interruptions, 50u) << "the wait was interrupted all along";
}

TEST_F(SignalWait, DaemonSignalsAreEventsAndNoSignalIsATick) {
    pthread_kill(pthread_self(), SIGUSR1);
    EXPECT_EQ(wait_ms(1000), Event::stats);
    pthread_kill(pthread_self(), SIGHUP);
    EXPECT_EQ(wait_ms(1000), Event::reload);
    pthread_kill(pthread_self(), SIGTERM);
    EXPECT_EQ(wait_ms(1000), Event::stop);
    EXPECT_EQ(wait_ms(10), Event::tick);
}

}  // namespace

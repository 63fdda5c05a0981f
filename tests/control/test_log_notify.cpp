// The daemon's log lines (prefix, one line per event, journald's "<N>" only when stderr is the
// journal, the per-second budget) and its systemd notifications (the datagrams, sent to a
// NOTIFY_SOCKET and harmless without one).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "control/daemon/notify.hpp"
#include "control/log/log_line.hpp"
#include "control/log/rate_limited_log.hpp"

using namespace nfgate;
using nfgate::log::Level;

namespace {

TEST(LogLine, OneLineWithThePrefixAndNoPriorityOutsideTheJournal) {
    EXPECT_EQ(log::format_line(Level::notice, "nfgate: ready", false), "nfgate: ready\n");
    EXPECT_EQ(log::format_line(Level::warning, "control socket stays at /x: busy", false),
              "nfgate: control socket stays at /x: busy\n");
    EXPECT_EQ(log::format_line(Level::error, "a:1: first\nsecond\n", false), "nfgate: a:1: first second\n");
}

TEST(LogLine, JournalGetsTheSyslogPriorityFirst) {
    EXPECT_EQ(log::format_line(Level::warning, "nfgate: flow table full", true), "<4>nfgate: flow table full\n");
    EXPECT_EQ(log::format_line(Level::error, "start failed", true), "<3>nfgate: start failed\n");
    EXPECT_EQ(log::format_line(Level::info, "counters: rx_packets 1", true), "<6>nfgate: counters: rx_packets 1\n");
}

TEST(LogLine, JournalStreamIsRecognisedByDeviceAndInode) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fds[1], &st), 0);
    const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    EXPECT_TRUE(log::is_journal_stream(fds[1], mine.c_str()));
    // A stream inherited from elsewhere (JOURNAL_STREAM of a parent service) is not the journal.
    const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    EXPECT_FALSE(log::is_journal_stream(fds[1], other.c_str()));
    EXPECT_FALSE(log::is_journal_stream(fds[1], nullptr));
    EXPECT_FALSE(log::is_journal_stream(fds[1], "not-a-stream"));
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(LineBudget, LetsThroughAtMostNASecondAndReportsTheRestOnce) {
    log::LineBudget budget(3);
    uint64_t held = 99;
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(budget.admit(100, held));
        EXPECT_EQ(held, 0u);
    }
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(budget.admit(100, held));
    EXPECT_TRUE(budget.admit(101, held));
    EXPECT_EQ(held, 5u) << "the first line of the next second says how many were held back";
    EXPECT_TRUE(budget.admit(101, held));
    EXPECT_EQ(held, 0u) << "and only once";
}

TEST(Notify, MessagesFollowTheProtocol) {
    EXPECT_EQ(daemon::notify::ready_message("serving\nnow"), "READY=1\nSTATUS=serving now");
    EXPECT_EQ(daemon::notify::reloading_message(1234567, "reloading /etc/nfgate/gateway.yaml"),
              "RELOADING=1\nMONOTONIC_USEC=1234567\nSTATUS=reloading /etc/nfgate/gateway.yaml");
    EXPECT_EQ(daemon::notify::stopping_message("stopping"), "STOPPING=1\nSTATUS=stopping");
    Model m;
    m.dataplane = DataplaneKind::dpdk;
    EXPECT_EQ(daemon::notify::serving_status(m, "started"),
              "serving on the fast path: 0 Services, 0 ports, 0 endpoints (0 ready); started");
}

class NotifySocket : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("nfgate-notify-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / "notify.sock").string();
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd_, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
        ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        timeval tv{2, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    void TearDown() override {
        ::unsetenv("NOTIFY_SOCKET");
        ::close(fd_);
        std::filesystem::remove_all(dir_);
    }
    std::string receive() {
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
    }
    std::filesystem::path dir_;
    std::string path_;
    int fd_ = -1;
};

TEST_F(NotifySocket, ReachesTheServiceManagerAndKeepsTheSocketForLater) {
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    timespec before{};
    clock_gettime(CLOCK_MONOTONIC, &before);
    daemon::notify::reloading("reloading gw.yaml");
    const std::string got = receive();
    ASSERT_EQ(got.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << got;
    const uint64_t usec = std::stoull(got.substr(got.find('=', 12) + 1));
    const uint64_t then = static_cast<uint64_t>(before.tv_sec) * 1000000u + static_cast<uint64_t>(before.tv_nsec) / 1000u;
    EXPECT_GE(usec, then) << "MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds";
    EXPECT_LT(usec, then + 5000000u);
    EXPECT_NE(std::getenv("NOTIFY_SOCKET"), nullptr) << "the next notification needs it";
    daemon::notify::ready("serving");
    EXPECT_EQ(receive(), "READY=1\nSTATUS=serving");
}

TEST_F(NotifySocket, WithoutNotifySocketNothingIsSentAndNothingFails) {
    ::unsetenv("NOTIFY_SOCKET");
    daemon::notify::ready("serving");
    daemon::notify::stopping("stopping");
    // Pointing at nothing that listens is no error either.
    ::setenv("NOTIFY_SOCKET", (dir_ / "nobody.sock").c_str(), 1);
    daemon::notify::ready("serving");
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(receive(), "");
}

}  // namespace

#include "control/bgp/bird_speaker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "control/bgp/announce.hpp"
#include "control/log/log_line.hpp"

namespace nfgate::bgp {

namespace {

constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr auto kWithdrawWait = std::chrono::milliseconds(1000);  // for the withdrawals to leave

// Writes `text` to `path` through a temporary file and rename(2): BIRD never reads half a file.
bool write_file(const std::string& path, const std::string& text, std::string& err) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << text;
        f.flush();
        if (!f) {
            err = "cannot write " + tmp + ": " + std::strerror(errno);
            return false;
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        err = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

std::string exit_text(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
    return "stopped";
}

}  // namespace

bool BirdSpeaker::command(const std::string& socket, const std::string& cmd, BirdReply& reply, std::string& err,
                          std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        err = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket.size() >= sizeof(addr.sun_path)) {
        err = socket + ": path too long for a UNIX socket";
        return false;
    }
    std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
        err = "BIRD's control socket " + socket + ": " + std::strerror(errno);
        return false;
    }
    auto wait_for = [&](short events) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, events, 0};
        return left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1;
    };
    // Greeting ("0001 BIRD 2.0.12 ready."), then the command's reply.
    const std::string line = cmd + "\n";
    for (int round = 0; round < 2; ++round) {
        BirdReply r;
        std::string partial;
        char buf[4096];
        while (!r.complete()) {
            if (!wait_for(POLLIN)) {
                err = "BIRD did not answer \"" + cmd + "\" in time";
                return false;
            }
            const ssize_t n = ::read(fd, buf, sizeof(buf));
            if (n <= 0) {
                err = "BIRD closed its control socket during \"" + cmd + "\"";
                return false;
            }
            if (!feed_bird_reply(std::string_view(buf, static_cast<size_t>(n)), partial, r)) {
                err = "BIRD's answer to \"" + cmd + "\" is not its control protocol";
                return false;
            }
        }
        if (round == 1) {
            reply = std::move(r);
            return true;
        }
        if (!wait_for(POLLOUT) || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            err = "cannot send \"" + cmd + "\" to BIRD";
            return false;
        }
    }
    return false;
}

bool BirdSpeaker::write_files(std::string& err) const {
    return write_file(paths_.routes, bird_routes(announced_), err) &&
           write_file(paths_.routes6, bird_routes6(announced6_), err) &&
           write_file(paths_.config, bird_config(settings_, paths_), err);
}

bool BirdSpeaker::spawn(std::string& err) {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        err = std::string("fork: ") + std::strerror(errno);
        return false;
    }
    if (pid == 0) {
        // Only async-signal-safe calls here: the daemon has other threads.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a BIRD must not announce for a dead nfgate
        if (::getppid() != parent) ::_exit(127);
        ::setsid();  // signals for nfgate's process group (a terminal's ^C, SIGHUP) are nfgate's alone
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the daemon blocks its signals; BIRD needs them
        ::syscall(SYS_close_range, 3, ~0u, 0);
        const char* argv[] = {binary_.c_str(), "-f", "-c", paths_.config.c_str(), "-s", paths_.socket.c_str(),
                              "-P", paths_.pid.c_str(), nullptr};
        ::execvp(argv[0], const_cast<char* const*>(argv));
        ::_exit(127);
    }
    pid_ = pid;
    return wait_ready(err);
}

bool BirdSpeaker::wait_ready(std::string& err) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    BirdReply r;
    while (std::chrono::steady_clock::now() < give_up) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            err = binary_ + " " + exit_text(status) + " at start (its configuration: " + paths_.config + ")";
            pid_ = -1;
            return false;
        }
        std::string ignored;
        if (command(paths_.socket, "show status", r, ignored, std::chrono::milliseconds(500)) && r.ok()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    err = binary_ + " did not open " + paths_.socket + " within 5 s";
    return false;
}

bool BirdSpeaker::reconfigure(std::string& err) const {
    BirdReply r;
    if (!command(paths_.socket, "configure", r, err)) return false;
    if (!r.ok()) {
        err = "BIRD refused its new configuration: " + r.text();
        return false;
    }
    return true;
}

void BirdSpeaker::reap(bool block) {
    if (pid_ <= 0) return;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
        if (!block) log::line(log::Level::warning, "bgp: " + binary_ + " " + exit_text(status) + "; starting it again");
        pid_ = -1;
    }
}

bool BirdSpeaker::apply(const Model& m, std::string& err) {
    if (!m.bgp.enabled) {
        stop();
        settings_ = m.bgp;
        return true;
    }
    const bool first = !settings_.enabled || pid_ <= 0;
    if (!settings_.enabled) paths_ = bird_paths(m.control.socket);  // fixed while BIRD runs
    settings_ = m.bgp;
    announced_ = announced_prefixes(m);
    announced6_ = announced_prefixes6(m);
    if (!write_files(err)) return false;
    if (!first) return reconfigure(err);
    if (!spawn(err)) {
        next_start_ = std::chrono::steady_clock::now() + backoff_;
        return false;
    }
    return true;
}

void BirdSpeaker::tick() {
    if (!settings_.enabled) return;
    reap(false);
    if (pid_ > 0 || std::chrono::steady_clock::now() < next_start_) return;
    std::string err;
    ++restarts_;
    if (spawn(err)) {
        log::line(log::Level::notice, "bgp: " + binary_ + " started again (pid " + std::to_string(pid_) + ")");
        backoff_ = std::chrono::seconds(1);
        return;
    }
    log::line(log::Level::warning, "bgp: " + err + "; next try in " + std::to_string(backoff_.count()) + " s");
    next_start_ = std::chrono::steady_clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::seconds(kMaxBackoff));
}

void BirdSpeaker::stop() {
    if (pid_ <= 0) return;
    std::string err;
    announced_.clear();
    announced6_.clear();
    // Withdraw first, so the peers stop sending before the session goes; then `down`.
    if (write_files(err) && reconfigure(err)) std::this_thread::sleep_for(kWithdrawWait);
    else log::line(log::Level::warning, "bgp: withdrawing before exit: " + err);
    BirdReply r;
    if (!command(paths_.socket, "down", r, err, std::chrono::milliseconds(1000))) ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50 && pid_ > 0; ++i) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) pid_ = -1;
        else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
    pid_ = -1;
}

std::vector<BgpSession> BirdSpeaker::sessions(std::string& err) const {
    if (pid_ <= 0) {
        err = settings_.enabled ? "BIRD is not running (nfgate starts it again)" : "bgp is not configured";
        return {};
    }
    BirdReply r;
    if (!command(paths_.socket, "show protocols all", r, err, std::chrono::milliseconds(1000))) return {};
    if (!r.ok()) {
        err = "BIRD: " + r.text();
        return {};
    }
    return parse_bgp_sessions(r);
}

}  // namespace nfgate::bgp

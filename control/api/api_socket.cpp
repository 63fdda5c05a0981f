#include "control/api/api_socket.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace nfgate::api {

namespace {

// A request is a handful of words; anything bigger is not a client of ours.
constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr int kClientStallMs = 1000;

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

bool make_address(const std::string& path, sockaddr_un& sa, std::string& err) {
    sa = {};
    sa.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
        err = "control socket path \"" + path + "\" must be 1-" + std::to_string(sizeof(sa.sun_path) - 1) +
              " characters";
        return false;
    }
    std::memcpy(sa.sun_path, path.data(), path.size());
    return true;
}

// Connects to `path`; -1 with errno set when nothing listens there.
int connect_to(const std::string& path, std::string& err) {
    sockaddr_un sa;
    if (!make_address(path, sa, err)) return -1;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = sys_error("socket");
        return -1;
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        err = sys_error("cannot connect to " + path);
        int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

// Waits until fd is ready for `events` or the deadline passes.
bool wait_fd(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    int n;
    do n = ::poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n > 0;
}

bool write_all(int fd, const std::string& data, int timeout_ms) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT, timeout_ms)) continue;
        return false;
    }
    return true;
}

// Reads until the peer shuts its side down (or `limit` bytes, or the timeout). False on timeout,
// error or overflow.
bool read_all(int fd, std::string& out, size_t limit, int timeout_ms) {
    char buf[16384];
    for (;;) {
        if (!wait_fd(fd, POLLIN, timeout_ms)) return false;
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            return false;
        }
        if (out.size() + static_cast<size_t>(n) > limit) return false;
        out.append(buf, static_cast<size_t>(n));
    }
}

void answer_one(int client, const Handler& handler) {
    auto reply = std::make_unique<Reply>(client);
    std::string text;
    Json answer;
    if (!read_all(client, text, kMaxRequestBytes, kClientStallMs)) {
        answer = answer_error("request not received within 1 s or larger than 64 KiB");
    } else {
        Json request = Json::parse(text, nullptr, false);
        if (request.is_discarded() || !request.is_object())
            answer = answer_error("the request is not a JSON object");
        else
            answer = handler(request, reply);
    }
    if (reply) reply->send(answer);
}

}  // namespace

Reply::~Reply() {
    if (fd_ >= 0) ::close(fd_);
}

void Reply::send(const Json& answer) {
    if (fd_ < 0) return;
    // The answer may be a large flow dump: give a slow reader more time, but not forever.
    write_all(fd_, answer.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", 5 * kClientStallMs);
    ::close(fd_);
    fd_ = -1;
}

Json answer_error(const std::string& message) { return Json{{"ok", false}, {"error", message}}; }
Json answer_ok(Json result) { return Json{{"ok", true}, {"result", std::move(result)}}; }

ApiListener::~ApiListener() { close(); }

bool ApiListener::open(const std::string& path, std::string& err) {
    close();
    sockaddr_un sa;
    if (!make_address(path, sa, err)) return false;
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            err = "control socket folder " + dir.string() + ": " + ec.message();
            return false;
        }
        ::chmod(dir.c_str(), 0755);
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            err = "control socket " + path + " exists and is not a socket (remove it or choose another path)";
            return false;
        }
        std::string probe_err;
        int other = connect_to(path, probe_err);
        if (other >= 0) {
            ::close(other);
            err = "control socket " + path + " is in use: another nfgate is running (or choose another control.socket)";
            return false;
        }
        // Nothing listens: a socket left by a daemon that died. Replace it.
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            err = sys_error("cannot remove the stale control socket " + path);
            return false;
        }
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        err = sys_error("socket");
        return false;
    }
    // The umask makes bind create the file as 0660 at once: no moment where it is wider.
    const mode_t old_mask = ::umask(0117);
    const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    const int bind_errno = errno;
    ::umask(old_mask);
    if (rc != 0) {
        errno = bind_errno;
        err = sys_error("cannot bind the control socket " + path);
        ::close(fd);
        return false;
    }
    if (::listen(fd, 16) != 0) {
        err = sys_error("cannot listen on the control socket " + path);
        ::close(fd);
        ::unlink(path.c_str());
        return false;
    }
    fd_ = fd;
    path_ = path;
    return true;
}

void ApiListener::close() {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
    path_.clear();
}

void ApiListener::serve_pending(const Handler& handler) const {
    if (fd_ < 0) return;
    for (;;) {
        int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client < 0) {
            if (errno == EINTR) continue;
            return;  // EAGAIN: nobody else waiting (or a transient error: the next poll retries)
        }
        answer_one(client, handler);  // the Reply owns and closes the connection
    }
}

CallStatus call(const std::string& path, const Json& request, Json& answer, std::string& err, int timeout_ms) {
    int fd = connect_to(path, err);
    if (fd < 0) return CallStatus::unreachable;
    const bool sent = write_all(fd, request.dump(-1, ' ', false, Json::error_handler_t::replace), timeout_ms) && ::shutdown(fd, SHUT_WR) == 0;
    std::string text;
    const bool got = sent && read_all(fd, text, size_t{1} << 34, timeout_ms);
    ::close(fd);
    if (!sent || !got) {
        err = "no answer from the daemon at " + path + " within " + std::to_string(timeout_ms / 1000) + " s";
        return CallStatus::failed;
    }
    answer = Json::parse(text, nullptr, false);
    if (answer.is_discarded() || !answer.is_object()) {
        err = "the daemon at " + path + " answered something that is not JSON";
        return CallStatus::failed;
    }
    return CallStatus::ok;
}

}  // namespace nfgate::api

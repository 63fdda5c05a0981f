// The control API's transport: one JSON request per connection on a UNIX stream socket. The
// daemon's control thread owns the listening socket and answers between its other duties;
// nfgatectl and the tests are the clients.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace nfgate::api {

using Json = nlohmann::json;

// One client's connection, until it gets its answer. A handler that cannot answer at once (a
// capture waiting for packets) takes it over and sends later; the client just waits.
class Reply {
public:
    explicit Reply(int fd) : fd_(fd) {}
    ~Reply();  // closes the connection (unanswered, if send was never called)
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    void send(const Json& answer);

private:
    int fd_;
};

// Turns one request into one answer; never throws (see answer_error). A handler that moves
// `later` out answers through it itself; what it returns then is ignored.
using Handler = std::function<Json(const Json& request, std::unique_ptr<Reply>& later)>;

// {"ok": false, "error": message}: what every failed request answers.
Json answer_error(const std::string& message);
// {"ok": true, "result": result}
Json answer_ok(Json result);

class ApiListener {
public:
    ApiListener() = default;
    ~ApiListener();
    ApiListener(const ApiListener&) = delete;
    ApiListener& operator=(const ApiListener&) = delete;

    // Creates the socket at `path` with mode 0660 (its folder 0755 if it is missing). A socket
    // file left behind by a dead daemon is replaced; one that still answers is another daemon's,
    // and so is refused, as is any path that is not a socket.
    bool open(const std::string& path, std::string& err);
    // Closes and removes the socket (only the one this listener made).
    void close();
    void swap(ApiListener& other) noexcept {
        std::swap(fd_, other.fd_);
        path_.swap(other.path_);
    }

    int fd() const { return fd_; }
    const std::string& path() const { return path_; }

    // Answers every connection waiting on the (non-blocking) socket, one request each. A client
    // that stalls is cut off after a second, so the control thread is never held for long.
    void serve_pending(const Handler& handler) const;

private:
    int fd_ = -1;
    std::string path_;
};

enum class CallStatus { ok, unreachable, failed };

// Sends `request` to the daemon at `path` and reads its answer. `unreachable`: nothing listens
// there (err says why); `failed`: the daemon answered something that is not JSON, or timed out.
CallStatus call(const std::string& path, const Json& request, Json& answer, std::string& err,
                int timeout_ms = 30000);

}  // namespace nfgate::api

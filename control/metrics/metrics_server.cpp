#include "control/metrics/metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <microhttpd.h>

#include "control/log/rate_limited_log.hpp"

namespace nfgate::metrics {

namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

bool parse_address(const std::string& s, sockaddr_in& sa) {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    std::string host = s.substr(0, colon);
    if (host == "localhost") host = "127.0.0.1";
    unsigned port = 0;
    const char* b = s.data() + colon + 1;
    const char* e = s.data() + s.size();
    auto [end, ec] = std::from_chars(b, e, port);
    if (ec != std::errc{} || end != e || port == 0 || port > 65535) return false;
    sa = {};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    return ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) == 1;
}

// libmicrohttpd's own error messages (a client that resets, a full connection table): anyone
// who can reach the port can cause them, so they go through a per-second budget.
void log_server_error(void*, const char* fmt, va_list ap) {
    static log::RateLimitedLog server_log("metrics: ", 10);
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    server_log.write(log::Level::warning, buf);
}

MHD_Result reply(MHD_Connection* c, unsigned status, const std::string& body, const char* type) {
    MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (r == nullptr) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    const MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                              const char*, size_t* upload_size, void** state) {
    auto* self = static_cast<MetricsServer*>(cls);
    // libmicrohttpd calls once for the headers, then again for the body: answer on the second.
    if (*state == nullptr) {
        *state = self;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
    if (std::strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "nfgate serves /metrics\n", "text/plain");
    return reply(c, MHD_HTTP_OK, *self->fresh(std::chrono::seconds(1)), kContentType);
}

}  // namespace

MetricsServer::MetricsServer() : wanted_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

MetricsServer::~MetricsServer() {
    stop();
    if (wanted_fd_ >= 0) ::close(wanted_fd_);
}

bool MetricsServer::start(const std::string& address, std::string& err) {
    stop();
    sockaddr_in sa;
    if (!parse_address(address, sa)) {
        err = "metrics address \"" + address + "\" is not host:port (want e.g. 127.0.0.1:9617)";
        return false;
    }
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, ntohs(sa.sin_port), nullptr,
                               nullptr, &on_request, this, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&sa),
                               MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u,
                               MHD_OPTION_EXTERNAL_LOGGER, &log_server_error, nullptr, MHD_OPTION_END);
    if (daemon_ == nullptr) {
        err = "cannot serve metrics on " + address + " (address in use, or not an address of this host)";
        return false;
    }
    address_ = address;
    return true;
}

void MetricsServer::stop() {
    if (daemon_ == nullptr) return;
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
    address_.clear();
}

void MetricsServer::publish(std::string text) {
    auto next = std::make_shared<const std::string>(std::move(text));
    {
        std::lock_guard<std::mutex> lock(mu_);
        text_ = std::move(next);
        ++published_;
    }
    published_cv_.notify_all();
}

void MetricsServer::take_wanted() {
    uint64_t n;
    [[maybe_unused]] auto r = ::read(wanted_fd_, &n, sizeof n);
}

std::shared_ptr<const std::string> MetricsServer::fresh(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t want = published_ + 1;
    const uint64_t one = 1;
    if (wanted_fd_ < 0 || ::write(wanted_fd_, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) return text_;
    published_cv_.wait_for(lock, wait, [&] { return published_ >= want; });
    return text_;
}

}  // namespace nfgate::metrics

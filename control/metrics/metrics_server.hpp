// GET /metrics over HTTP, served by libmicrohttpd's own thread. Figures are collected when
// scraped, as Prometheus' client libraries do: a scrape wakes the control thread (wanted_fd())
// and waits, up to a second, for the text it publishes; a busy control thread means the text
// published last. One mutex between those two threads, never a worker: a scrape costs the
// workers nothing, and a slow scraper never holds the control thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

struct MHD_Daemon;

namespace nfgate::metrics {

class MetricsServer {
public:
    MetricsServer();
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Listens on "host:port" (IPv4 address, 0.0.0.0 or localhost). False with err on a bad
    // address or a port in use.
    bool start(const std::string& address, std::string& err);
    void stop();
    bool running() const { return daemon_ != nullptr; }
    const std::string& address() const { return address_; }

    // The text the waiting and the next scrapes get.
    void publish(std::string text);

    // Readable while a scrape waits for fresh figures; take_wanted() before collecting them.
    int wanted_fd() const { return wanted_fd_; }
    void take_wanted();
    // A scrape: asks for fresh figures and waits up to `wait` for them.
    std::shared_ptr<const std::string> fresh(std::chrono::milliseconds wait);

private:
    MHD_Daemon* daemon_ = nullptr;
    std::string address_;
    int wanted_fd_ = -1;  // eventfd
    std::mutex mu_;
    std::condition_variable published_cv_;
    uint64_t published_ = 0;  // publish() calls so far
    std::shared_ptr<const std::string> text_ = std::make_shared<const std::string>();
};

}  // namespace nfgate::metrics

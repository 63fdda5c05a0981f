// GET /metrics over HTTP, served by libmicrohttpd's own thread. It hands out the last text the
// control thread published (one mutex between those two threads, never a worker), so a scrape
// costs the workers nothing and a slow scraper never holds the control thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

struct MHD_Daemon;

namespace nfgate::metrics {

class MetricsServer {
public:
    MetricsServer() = default;
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Listens on "host:port" (IPv4 address, 0.0.0.0 or localhost). False with err on a bad
    // address or a port in use.
    bool start(const std::string& address, std::string& err);
    void stop();
    bool running() const { return daemon_ != nullptr; }
    const std::string& address() const { return address_; }

    // The text the next scrapes get.
    void publish(std::string text);
    // The text published last (what a scrape gets now).
    std::shared_ptr<const std::string> current() const;

private:
    MHD_Daemon* daemon_ = nullptr;
    std::string address_;
    mutable std::mutex mu_;
    std::shared_ptr<const std::string> text_ = std::make_shared<const std::string>();
};

}  // namespace nfgate::metrics

// HTTPS GETs to the API server through libcurl (OpenSSL): the server's certificate is always
// verified (against the kubeconfig's CA, or the system's when it names none), the bearer token
// file re-read whenever it changes (bound service account tokens rotate hourly), client
// certificates passed as given. A watch is read line by line as the chunks arrive.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "control/kube/kubeconfig.hpp"

namespace nfgate::kube {

class ApiTransport {
public:
    explicit ApiTransport(ApiEndpoint endpoint);

    struct Result {
        long status = 0;      // HTTP status; 0 when no answer came
        std::string error;    // why the transfer failed (empty: it completed)
        std::string body;     // the whole answer (streams: only a non-200 answer's body)
    };
    using LineHandler = std::function<bool(std::string_view line)>;  // false: stop reading

    // GET server + `target`. With `on_line`, a 200 answer is handed over line by line and not
    // kept. The transfer ends early when `stop` becomes true (checked about once a second) or
    // after `timeout`.
    Result get(const std::string& target, const LineHandler& on_line, const std::atomic<bool>& stop,
               std::chrono::seconds timeout);

    const ApiEndpoint& endpoint() const { return ep_; }

private:
    std::string bearer_token();

    ApiEndpoint ep_;
    std::string file_token_;
    std::filesystem::file_time_type token_mtime_{};
    uintmax_t token_size_ = 0;
};

}  // namespace nfgate::kube

#include "control/kube/api_transport.hpp"

#include <curl/curl.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

namespace nfgate::kube {

namespace {

// Non-200 answers are Status objects of a few hundred bytes; more is not worth keeping.
constexpr size_t kMaxErrorBody = 64 * 1024;
// A list page of 500 objects is a few MB; a body past this is not an API answer.
constexpr size_t kMaxBody = size_t{512} << 20;

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    CURL* curl = nullptr;
    const ApiTransport::LineHandler* on_line = nullptr;
    const std::atomic<bool>* stop = nullptr;
    std::string pending;  // a stream's unfinished line
    std::string* body = nullptr;
    bool handler_stopped = false;
    bool too_big = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
    if (!t.on_line || status != 200) {
        const size_t limit = t.on_line ? kMaxErrorBody : kMaxBody;
        if (t.body->size() + n > limit) {
            t.too_big = true;
            return 0;
        }
        t.body->append(data, n);
        return n;
    }
    // Watch events are one JSON object per line (the API server's newline-delimited stream).
    t.pending.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = t.pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(t.pending.data() + start, nl - start);
        if (line.empty()) continue;
        if (!(*t.on_line)(line)) {
            t.handler_stopped = true;
            return 0;
        }
    }
    t.pending.erase(0, start);
    if (t.pending.size() > kMaxBody) {
        t.too_big = true;
        return 0;
    }
    return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(user)->stop->load(std::memory_order_relaxed) ? 1 : 0;
}

void set_blob(CURL* c, CURLoption opt, const std::string& pem) {
    curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, opt, &blob);
}

}  // namespace

ApiTransport::ApiTransport(ApiEndpoint endpoint) : ep_(std::move(endpoint)) { global_init(); }

std::string ApiTransport::bearer_token() {
    if (ep_.token_file.empty()) return ep_.token;
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(ep_.token_file, ec);
    const auto size = ec ? 0 : std::filesystem::file_size(ep_.token_file, ec);
    if (!ec && (mtime != token_mtime_ || size != token_size_ || file_token_.empty())) {
        std::ifstream in(ep_.token_file, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        std::string token = s.str();
        while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
        if (in || in.eof()) {
            file_token_ = std::move(token);
            token_mtime_ = mtime;
            token_size_ = size;
        }
    }
    return file_token_;  // a file that vanished for a moment: the token read last
}

ApiTransport::Result ApiTransport::get(const std::string& target, const LineHandler& on_line,
                                       const std::atomic<bool>& stop, std::chrono::seconds timeout) {
    Result res;
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) {
        res.error = "curl_easy_init failed";
        return res;
    }
    CURL* c = curl.get();
    Transfer t;
    t.curl = c;
    t.on_line = on_line ? &on_line : nullptr;
    t.stop = &stop;
    t.body = &res.body;
    char errbuf[CURL_ERROR_SIZE] = {};

    const std::string url = ep_.server + target;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Verification stays on, whatever the kubeconfig says (insecure-skip-tls-verify is refused).
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ep_.ca_pem.empty()) set_blob(c, CURLOPT_CAINFO_BLOB, ep_.ca_pem);
    if (!ep_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ep_.ca_file.c_str());
    if (!ep_.client_cert_pem.empty()) set_blob(c, CURLOPT_SSLCERT_BLOB, ep_.client_cert_pem);
    if (!ep_.client_cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, ep_.client_cert_file.c_str());
    if (!ep_.client_key_pem.empty()) set_blob(c, CURLOPT_SSLKEY_BLOB, ep_.client_key_pem);
    if (!ep_.client_key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, ep_.client_key_file.c_str());

    std::unique_ptr<curl_slist, SlistDeleter> headers(curl_slist_append(nullptr, "Accept: application/json"));
    const std::string token = bearer_token();
    if (!token.empty()) {
        const std::string auth = "Authorization: Bearer " + token;
        headers.reset(curl_slist_append(headers.release(), auth.c_str()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "nfgate");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
    // TCP keepalive finds a peer that vanished without a FIN while the watch is idle.
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);

    const CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res.status);
    if (t.handler_stopped) return res;  // the caller ended the stream on purpose
    if (rc != CURLE_OK) {
        if (t.too_big) res.error = "answer larger than nfgate reads";
        else if (stop.load()) res.error = "stopped";
        else res.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    }
    return res;
}

}  // namespace nfgate::kube

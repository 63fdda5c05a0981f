// net.netfilter.nf_conntrack_tcp_loose of the daemon's network namespace. The SYN proxy needs it
// at 0: with the default 1 conntrack picks up the client's cookie-carrying ACK as a connection in
// mid-stream, so it is never invalid, never reaches the proxy, and is sent on to the endpoint,
// which resets it. The value found is put back when the proxy goes off.
#pragma once

#include <optional>
#include <string>

namespace nfgate::nft {

class TcpLoose {
public:
    // Sets 0, remembering the value found (once: a second call keeps the first value).
    bool hold_strict(std::string& err);
    // Puts back the remembered value, if any.
    bool restore(std::string& err);
    bool holding() const { return saved_.has_value(); }

private:
    std::optional<std::string> saved_;
};

}  // namespace nfgate::nft

#include "nft/tcp_loose.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace nfgate::nft {

namespace {

constexpr const char* kPath = "/proc/sys/net/netfilter/nf_conntrack_tcp_loose";

bool write_value(const std::string& v, std::string& err) {
    std::ofstream f(kPath);
    if (f << v << '\n' && f.flush()) return true;
    err = std::string("cannot write ") + kPath + ": " + std::strerror(errno);
    return false;
}

}  // namespace

bool TcpLoose::hold_strict(std::string& err) {
    if (!saved_) {
        std::ifstream f(kPath);
        std::string v;
        if (!(f >> v)) {
            err = std::string("cannot read ") + kPath + ": " + std::strerror(errno);
            return false;
        }
        saved_ = v;
    }
    return write_value("0", err);
}

bool TcpLoose::restore(std::string& err) {
    if (!saved_) return true;
    if (!write_value(*saved_, err)) return false;
    saved_.reset();
    return true;
}

}  // namespace nfgate::nft

#include "nft/tcp_loose.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace nfgate::nft {

namespace {

constexpr const char* kPath = "/proc/sys/net/netfilter/nf_conntrack_tcp_loose";
std::string g_note_dir = "/run/nfgate";

bool write_value(const std::string& v, std::string& err) {
    std::ofstream f(kPath);
    if (f << v << '\n' && f.flush()) return true;
    err = std::string("cannot write ") + kPath + ": " + std::strerror(errno);
    return false;
}

// The note of this network namespace; empty when its inode cannot be read.
std::string note_path() {
    struct stat st {};
    if (stat("/proc/self/ns/net", &st) != 0) return {};
    return g_note_dir + "/tcp-loose." + std::to_string(st.st_ino);
}

std::optional<std::string> read_note() {
    const std::string path = note_path();
    std::ifstream f(path);
    std::string v;
    if (path.empty() || !(f >> v) || (v != "0" && v != "1")) return std::nullopt;
    return v;
}

// Best effort: without the note a kill -9 leaves the sysctl at 0, as before notes existed.
void write_note(const std::string& v) {
    const std::string path = note_path();
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(g_note_dir, ec);
    std::ofstream(path, std::ios::trunc) << v << '\n';
}

void remove_note() {
    const std::string path = note_path();
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
}

}  // namespace

void TcpLoose::set_note_dir(std::string dir) { g_note_dir = std::move(dir); }

bool TcpLoose::hold_strict(std::string& err) {
    if (!saved_) {
        if (const auto noted = read_note()) {
            saved_ = *noted;  // an earlier holder was killed: 0 is its doing, not the admin's
        } else {
            std::ifstream f(kPath);
            std::string v;
            if (!(f >> v)) {
                err = std::string("cannot read ") + kPath + ": " + std::strerror(errno);
                return false;
            }
            saved_ = v;
        }
        write_note(*saved_);
    }
    return write_value("0", err);
}

bool TcpLoose::restore(std::string& err) {
    if (!saved_) return true;
    if (!write_value(*saved_, err)) return false;
    saved_.reset();
    remove_note();
    return true;
}

bool TcpLoose::recover(std::string& err) {
    if (saved_) return true;
    const auto noted = read_note();
    if (!noted) return true;
    if (!write_value(*noted, err)) return false;
    remove_note();
    return true;
}

}  // namespace nfgate::nft

#include "control/log/log_line.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace nfgate::log {

namespace {

// Decided once per stream: JOURNAL_STREAM and the descriptors do not change while nfgate runs.
bool journal(int fd) {
    static const bool err = is_journal_stream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
    static const bool out = is_journal_stream(STDOUT_FILENO, std::getenv("JOURNAL_STREAM"));
    return fd == STDERR_FILENO ? err : out;
}

void write_all(int fd, const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
        const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
        if (n <= 0) return;  // a closed or full log stream must not stop the gateway
        done += static_cast<size_t>(n);
    }
}

}  // namespace

std::string format_line(Level level, std::string_view text, bool journal) {
    std::string out;
    out.reserve(text.size() + kPrefix.size() + 5);
    if (journal) out.append("<").append(std::to_string(static_cast<int>(level))).append(">");
    if (text.substr(0, kPrefix.size()) != kPrefix) out.append(kPrefix);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    for (char c : text) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
    out.push_back('\n');
    return out;
}

bool is_journal_stream(int fd, const char* journal_stream) {
    if (journal_stream == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(journal_stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void line(Level level, std::string_view text) {
    std::fflush(stderr);  // whatever stdio still holds goes first
    write_all(STDERR_FILENO, format_line(level, text, journal(STDERR_FILENO)));
}

void lines(Level level, std::string_view label, std::string_view text) {
    for_each_line(text, [&](std::string_view one) { line(level, std::string(kPrefix).append(label).append(one)); });
}

void status(Level level, std::string_view text) {
    std::fflush(stdout);  // std::cout shares stdio's buffer: anything printed before comes first
    write_all(STDOUT_FILENO, format_line(level, text, journal(STDOUT_FILENO)));
}

}  // namespace nfgate::log

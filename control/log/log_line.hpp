// nfgate's log: one line per event on stderr, each starting "nfgate: ", no colour. When stderr
// is the journal (systemd puts "device:inode" of that stream into JOURNAL_STREAM), each line
// starts with sd-daemon(3)'s "<N>" priority prefix, which journald strips and records as the
// entry's priority (`journalctl -p warning`); anywhere else (a terminal, a file, a test's pipe)
// the line is the text alone, so what scripts match on is the same in both places.
#pragma once

#include <string>
#include <string_view>

namespace nfgate::log {

// syslog priorities, as journald reads them from "<N>".
enum class Level : int { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

inline constexpr std::string_view kPrefix = "nfgate: ";

// One line: `text` with kPrefix put in front when it does not start with it, newlines inside
// turned into spaces (a journal entry per line: one event must not become several), a final
// newline, and "<N>" in front of everything when `journal`.
std::string format_line(Level level, std::string_view text, bool journal);

// True when `fd` is the stream that `journal_stream` ("device:inode", JOURNAL_STREAM's value;
// nullptr when unset) names.
bool is_journal_stream(int fd, const char* journal_stream);

// To stderr in one write(2): lines from several threads never interleave.
void line(Level level, std::string_view text);

// Calls fn(line) for each non-empty line of `text` (split on '\n').
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
    while (!text.empty()) {
        const size_t end = text.find('\n');
        const std::string_view one = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (!one.empty()) fn(one);
    }
}

// Each line of `text` (a multi-line report such as the counters) as its own log line, with
// `label` after kPrefix: "nfgate: " + label + line.
void lines(Level level, std::string_view label, std::string_view text);

// To stdout, flushed at once: the status lines ("nfgate: ready", "nfgate: reloaded", ...)
// scripts and tests wait for.
void status(Level level, std::string_view text);

}  // namespace nfgate::log

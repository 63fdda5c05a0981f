// The nfgate command line (Boost.Program_options), parsed into plain data the main acts on.
#pragma once

#include <optional>
#include <string>

#include "model/model.hpp"

namespace nfgate::daemon {

enum class Mode { run, check, once, cleanup, help };

struct Options {
    Mode mode = Mode::run;
    std::string config;                       // the gateway file
    std::optional<DataplaneKind> dataplane;   // --dataplane, overrides the file
    bool verbose = false;
    // Override the file's control.socket / control.metricsAddress ("" turns metrics off).
    std::optional<std::string> control_socket;
    std::optional<std::string> metrics_address;
};

// Fills `out` from argv. On a usage error returns false with `err` saying what is wrong and
// what would be valid. `help` always receives the option list (for --help and usage errors).
bool parse_options(int argc, const char* const argv[], Options& out, std::string& help, std::string& err);

}  // namespace nfgate::daemon

// `--name value` options of the peer benchmark's tools, and the CPU-time reading they report.
#pragma once

#include <sys/resource.h>

#include <map>
#include <stdexcept>
#include <string>

namespace nfgate::peer {

class Args {
public:
    Args(int argc, char** argv) {
        for (int i = 1; i < argc; ++i) {
            std::string key = argv[i];
            if (key.rfind("--", 0) != 0 || i + 1 >= argc)
                throw std::invalid_argument("option '" + key + "': expected --name value pairs");
            values_[key.substr(2)] = argv[++i];
        }
    }

    std::string str(const std::string& name) const {
        auto it = values_.find(name);
        if (it == values_.end()) throw std::invalid_argument("missing option --" + name);
        return it->second;
    }
    std::string str(const std::string& name, const std::string& fallback) const {
        return values_.count(name) ? values_.at(name) : fallback;
    }
    double num(const std::string& name, double fallback) const {
        if (!values_.count(name)) return fallback;
        try {
            return std::stod(values_.at(name));
        } catch (const std::exception&) {
            throw std::invalid_argument("option --" + name + " '" + values_.at(name) + "': expected a number");
        }
    }

private:
    std::map<std::string, std::string> values_;
};

// User and system CPU seconds this process has used so far.
inline std::pair<double, double> cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return {sec(ru.ru_utime), sec(ru.ru_stime)};
}

}  // namespace nfgate::peer

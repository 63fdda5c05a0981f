// A throw-away directory holding a gateway file and manifests written by a test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace nfgate::testsupport {

class TempConfig {
public:
    TempConfig() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "nfgate-control-XXXXXX").string();
        dir_ = mkdtemp(tmpl.data()) ? tmpl : std::string();
    }
    ~TempConfig() {
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }
    TempConfig(const TempConfig&) = delete;
    TempConfig& operator=(const TempConfig&) = delete;

    // Writes `text` to `name` (relative to the directory, parents created); returns its path.
    std::string write(const std::string& name, const std::string& text) const {
        std::filesystem::path p = std::filesystem::path(dir_) / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }
    std::string path(const std::string& name) const { return (std::filesystem::path(dir_) / name).string(); }
    const std::string& dir() const { return dir_; }

private:
    std::string dir_;
};

}  // namespace nfgate::testsupport

// Damaged manifests (cut short, bytes flipped) must give errors or a valid model, never a crash,
// and every error must still point at a file and say something.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "control/loader/config_loader.hpp"
#include "tests/control/temp_config.hpp"

using nfgate::loader::load_config;
using nfgate::loader::LoadResult;
using nfgate::testsupport::TempConfig;

namespace {

const std::string kData = CONTROL_TEST_DATA;

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void expect_sane(const LoadResult& res, const std::string& what) {
    if (res.ok()) {
        for (const auto& s : res.model.services) EXPECT_FALSE(s.ports.empty()) << what << " " << s.key();
        return;
    }
    EXPECT_TRUE(res.model.services.empty()) << what;
    for (const auto& d : res.errors) {
        EXPECT_FALSE(d.file.empty()) << what << ": " << d.str();
        EXPECT_FALSE(d.message.empty()) << what << ": " << d.str();
    }
}

// Loads `manifest` (the text of one file) for every prefix length in steps of `stride`.
void load_every_prefix(const std::string& manifest, const std::string& name, size_t stride) {
    TempConfig cfg;
    std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [" + name + "]\n");
    size_t failures = 0;
    for (size_t len = 0; len < manifest.size(); len += stride) {
        cfg.write(name, manifest.substr(0, len));
        LoadResult res = load_config(gw);
        expect_sane(res, name + " cut at " + std::to_string(len));
        failures += !res.ok();
    }
    EXPECT_GT(failures, 0u) << "cutting a manifest short must break it somewhere";
}

TEST(Robustness, YamlCutShort) {
    load_every_prefix(slurp(kData + "/valid/cluster/01-services.yaml") + "---\n" +
                          slurp(kData + "/valid/cluster/02-slices.yaml"),
                      "m.yaml", 7);
}

TEST(Robustness, JsonCutShort) { load_every_prefix(slurp(kData + "/json/cluster.json"), "m.json", 11); }

TEST(Robustness, FlippedBytes) {
    std::string original = slurp(kData + "/json/cluster.json");
    TempConfig cfg;
    std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.json]\n");
    std::mt19937 rng(20240607);
    const char replacements[] = {'"', '{', '}', '[', ']', ':', ',', '\\', '\n', ' ', '0', 'x', '-', '\0'};
    for (int round = 0; round < 300; ++round) {
        std::string text = original;
        for (int k = 0; k < 3; ++k)
            text[rng() % text.size()] = replacements[rng() % sizeof(replacements)];
        cfg.write("m.json", text);
        expect_sane(load_config(gw), "round " + std::to_string(round));
    }
}

}  // namespace

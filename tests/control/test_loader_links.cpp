// Symbolic links in a manifests directory (issue 14): a loop or a dangling link is an error that
// names it; nothing throws out of the loader (it once aborted --check and killed a reloading
// daemon).
#include <gtest/gtest.h>

#include <filesystem>

#include "control/loader/config_loader.hpp"
#include "temp_config.hpp"

namespace nfgate::loader {
namespace {

using testsupport::TempConfig;

const char* kService =
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: lab}\n"
    "spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n";

TEST(LoaderLinks, SymlinkLoopIsAnErrorNamingIt) {
    TempConfig cfg;
    const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [cluster/]\n");
    cfg.write("cluster/web.yaml", kService);
    std::filesystem::create_symlink("self.yaml", cfg.path("cluster/self.yaml"));  // points at itself
    LoadResult r;
    ASSERT_NO_THROW(r = load_config(gw));
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].field, "manifests[0]");
    EXPECT_NE(r.errors[0].message.find("self.yaml"), std::string::npos) << r.errors[0].str();
    EXPECT_NE(r.errors[0].message.find("symbolic link"), std::string::npos) << r.errors[0].str();
}

TEST(LoaderLinks, DanglingLinkIsAnErrorAndAGoodLinkIsRead) {
    TempConfig cfg;
    const std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [cluster/]\n");
    cfg.write("elsewhere/web.yaml", kService);
    std::filesystem::create_directories(cfg.path("cluster"));
    std::filesystem::create_symlink(cfg.path("elsewhere/web.yaml"), cfg.path("cluster/web.yaml"));
    LoadResult good = load_config(gw);
    ASSERT_TRUE(good.ok()) << good.errors[0].str();
    EXPECT_EQ(good.model.services.size(), 1u) << "a link to a manifest is read";

    std::filesystem::create_symlink(cfg.path("gone.yaml"), cfg.path("cluster/gone.yaml"));
    LoadResult bad = load_config(gw);
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_NE(bad.errors[0].message.find("gone.yaml"), std::string::npos) << bad.errors[0].str();
    EXPECT_TRUE(bad.model.services.empty()) << "nothing is applied while an error exists";
}

}  // namespace
}  // namespace nfgate::loader

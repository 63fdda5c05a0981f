// The `kubernetes` gateway section, kubeconfig files and in-cluster mode.
#include <gtest/gtest.h>

#include <map>

#include "control/kube/kubeconfig.hpp"
#include "control/loader/config_loader.hpp"
#include "control/loader/kubernetes_section.hpp"
#include "temp_config.hpp"

using nfgate::kube::ApiEndpoint;
using nfgate::loader::Diag;
using nfgate::loader::load_config;
using nfgate::testsupport::TempConfig;

namespace {

std::string all(const std::vector<Diag>& ds) {
    std::string s;
    for (const auto& d : ds) s += d.str() + "\n";
    return s;
}

TEST(KubernetesSection, KubeconfigRelativeToTheGatewayFileAndMinSyncPeriod) {
    TempConfig cfg;
    auto res = load_config(cfg.write("gw.yaml", "kubernetes:\n  kubeconfig: kube/config\n  minSyncPeriod: 1m30s\n"));
    ASSERT_TRUE(res.ok()) << all(res.errors);
    EXPECT_EQ(res.model.kubernetes.kubeconfig, cfg.dir() + "/kube/config");
    EXPECT_FALSE(res.model.kubernetes.in_cluster);
    EXPECT_EQ(res.model.kubernetes.min_sync_ms, 90'000u);
    auto plain = load_config(cfg.write("gw2.yaml", "kubernetes: {inCluster: true}\n"));
    ASSERT_TRUE(plain.ok()) << all(plain.errors);
    EXPECT_TRUE(plain.model.kubernetes.in_cluster);
    EXPECT_EQ(plain.model.kubernetes.min_sync_ms, 1000u);
    EXPECT_FALSE(load_config(cfg.write("gw3.yaml", "zone: a\n")).model.kubernetes.enabled());
}

TEST(KubernetesSection, ErrorsNameTheField) {
    TempConfig cfg;
    const std::map<std::string, std::string> cases = {
        {"kubernetes: {kubeconfig: /k, inCluster: true}\n", ":1: kubernetes: kubernetes.inCluster: set together with kubeconfig"},
        {"kubernetes: {minSyncPeriod: 1s}\n", ":1: kubernetes: kubernetes.kubeconfig: missing"},
        {"kubernetes:\n  inCluster: true\n  minSyncPeriod: soon\n", ":3: kubernetes: kubernetes.minSyncPeriod: \"soon\" is not a duration"},
        {"kubernetes:\n  inCluster: true\n  minSyncPeriod: 2h\n", ":3: kubernetes: kubernetes.minSyncPeriod: \"2h\" is longer than 10m"},
        {"kubernetes:\n  inCluster: true\n  server: x\n", ":3: kubernetes: kubernetes.server: unknown key"},
        {"kubernetes: [a]\n", ":1: kubernetes: kubernetes: want a mapping"},
    };
    for (const auto& [text, want] : cases) {
        auto res = load_config(cfg.write("gw.yaml", text));
        ASSERT_FALSE(res.ok()) << text;
        EXPECT_NE(all(res.errors).find(want), std::string::npos) << text << "\n" << all(res.errors);
    }
}

TEST(KubernetesSection, Durations) {
    uint64_t ms = 0;
    EXPECT_TRUE(nfgate::loader::parse_duration_ms("250ms", ms));
    EXPECT_EQ(ms, 250u);
    EXPECT_TRUE(nfgate::loader::parse_duration_ms("0", ms));
    EXPECT_EQ(ms, 0u);
    EXPECT_TRUE(nfgate::loader::parse_duration_ms("1h2m3s", ms));
    EXPECT_EQ(ms, 3'723'000u);
    for (const char* bad : {"", "1", "s", "1x", "-1s", "1.5s"}) EXPECT_FALSE(nfgate::loader::parse_duration_ms(bad, ms)) << bad;
}

const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: edge
contexts:
- name: other
  context: {cluster: nowhere, user: nobody}
- name: edge
  context: {cluster: lab, user: gw}
clusters:
- name: lab
  cluster:
    server: https://192.0.2.10:6443/
    certificate-authority-data: LS0tLS1CRUdJTg==
users:
- name: gw
  user:
    tokenFile: secrets/token
    client-certificate: pki/gw.crt
    client-key-data: a2V5
)";

TEST(Kubeconfig, CurrentContextPicksClusterAndUser) {
    TempConfig cfg;
    ApiEndpoint ep;
    std::vector<Diag> errors;
    ASSERT_TRUE(nfgate::kube::read_kubeconfig(cfg.write("kc/config", kKubeconfig), ep, errors)) << all(errors);
    EXPECT_EQ(ep.server, "https://192.0.2.10:6443");
    EXPECT_EQ(ep.ca_pem, "-----BEGIN");
    EXPECT_EQ(ep.token_file, cfg.dir() + "/kc/secrets/token");
    EXPECT_EQ(ep.client_cert_file, cfg.dir() + "/kc/pki/gw.crt");
    EXPECT_EQ(ep.client_key_pem, "key");
    EXPECT_TRUE(ep.token.empty());
}

TEST(Kubeconfig, RefusesWhatWouldSkipVerificationOrCannotRun) {
    TempConfig cfg;
    auto with = [&](const std::string& from, const std::string& to) {
        std::string text = kKubeconfig;
        text.replace(text.find(from), from.size(), to);
        ApiEndpoint ep;
        std::vector<Diag> errors;
        EXPECT_FALSE(nfgate::kube::read_kubeconfig(cfg.write("config", text), ep, errors)) << to;
        return all(errors);
    };
    EXPECT_NE(with("    server: https://192.0.2.10:6443/\n", "    server: https://192.0.2.10:6443/\n    insecure-skip-tls-verify: true\n")
                  .find(":13: cluster lab: cluster.insecure-skip-tls-verify: true is refused"),
              std::string::npos);
    EXPECT_NE(with("https://192.0.2.10", "http://192.0.2.10").find(":12: cluster lab: cluster.server: \"http://192.0.2.10:6443\" is not https://"),
              std::string::npos);
    EXPECT_NE(with("    tokenFile: secrets/token\n", "    exec: {command: aws}\n").find("user gw: user.exec: not supported"),
              std::string::npos);
    EXPECT_NE(with("    client-key-data: a2V5\n", "").find("user gw: user.client-key: missing"), std::string::npos);
    EXPECT_NE(with("current-context: edge", "current-context: gone").find("context gone: contexts: no entry named \"gone\""),
              std::string::npos);
    EXPECT_NE(with("LS0tLS1CRUdJTg==", "not*base64").find("cluster.certificate-authority-data: not base64"),
              std::string::npos);
}

TEST(Kubeconfig, AMissingFileIsNamedWithTheGatewayField) {
    TempConfig cfg;
    ApiEndpoint ep;
    std::vector<Diag> errors;
    EXPECT_FALSE(nfgate::kube::read_kubeconfig(cfg.path("nope"), ep, errors));
    EXPECT_EQ(all(errors), cfg.path("nope") + ": kubernetes: kubeconfig: cannot read it: No such file or directory "
                                              "(want a kubeconfig file, as kubectl config view --raw prints)\n");
}

TEST(Kubeconfig, InClusterReadsTheServiceAccountAndEnvironment) {
    TempConfig cfg;
    cfg.write("sa/token", "t0k3n");
    cfg.write("sa/ca.crt", "pem");
    std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
    nfgate::kube::InCluster where{cfg.path("sa"), [&](const char* n) -> const char* {
                                      auto it = env.find(n);
                                      return it == env.end() ? nullptr : it->second.c_str();
                                  }};
    ApiEndpoint ep;
    std::vector<Diag> errors;
    ASSERT_TRUE(nfgate::kube::in_cluster_endpoint(where, ep, errors)) << all(errors);
    EXPECT_EQ(ep.server, "https://[fd00::1]:443");
    EXPECT_EQ(ep.token_file, cfg.path("sa") + "/token");
    EXPECT_EQ(ep.ca_file, cfg.path("sa") + "/ca.crt");
    env.clear();
    where.account_dir = cfg.path("none");
    EXPECT_FALSE(nfgate::kube::in_cluster_endpoint(where, ep, errors));
    EXPECT_NE(all(errors).find("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"), std::string::npos);
    EXPECT_NE(all(errors).find(cfg.path("none") + "/token: kubernetes: inCluster: no service account token"), std::string::npos);
}

TEST(Kubeconfig, Base64) {
    std::string out;
    EXPECT_TRUE(nfgate::kube::base64_decode("aGVsbG8=", out));
    EXPECT_EQ(out, "hello");
    EXPECT_TRUE(nfgate::kube::base64_decode("aGVs\nbG8h", out));
    EXPECT_EQ(out, "hello!");
    EXPECT_FALSE(nfgate::kube::base64_decode("aGVsbG8", out));
    EXPECT_FALSE(nfgate::kube::base64_decode("aG=sbG8=", out));
}

}  // namespace

// The gateway file's `control` section: the control API socket and the Prometheus address.
#include <gtest/gtest.h>

#include "control/loader/config_loader.hpp"
#include "temp_config.hpp"

namespace nfgate::loader {
namespace {

using testsupport::TempConfig;

TEST(ControlSection, DefaultsAndValues) {
    TempConfig cfg;
    LoadResult plain = load_config(cfg.write("a.yaml", "serviceCIDRs: [10.96.0.0/16]\n"));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.model.control.socket, "/run/nfgate/nfgate.sock");
    EXPECT_EQ(plain.model.control.metrics_address, "") << "metrics are off unless asked for";

    LoadResult set = load_config(cfg.write("b.yaml", "control:\n  socket: /var/run/gw.sock\n"
                                                     "  metricsAddress: 127.0.0.1:9617\n"));
    ASSERT_TRUE(set.ok()) << set.errors[0].str();
    EXPECT_EQ(set.model.control.socket, "/var/run/gw.sock");
    EXPECT_EQ(set.model.control.metrics_address, "127.0.0.1:9617");
    EXPECT_TRUE(load_config(cfg.write("c.yaml", "control: {metricsAddress: \"0.0.0.0:9100\"}\n")).ok());
    EXPECT_TRUE(load_config(cfg.write("d.yaml", "control: {metricsAddress: \"localhost:9100\"}\n")).ok());
}

TEST(ControlSection, BadValuesNameTheFieldAndWhatIsValid) {
    TempConfig cfg;
    LoadResult rel = load_config(cfg.write("a.yaml", "control:\n  socket: nfgate.sock\n"));
    ASSERT_EQ(rel.errors.size(), 1u);
    EXPECT_EQ(rel.errors[0].line, 2);
    EXPECT_EQ(rel.errors[0].field, "control.socket");
    EXPECT_NE(rel.errors[0].message.find("absolute path"), std::string::npos) << rel.errors[0].str();

    for (const char* bad : {"9617", "127.0.0.1:0", "127.0.0.1:70000", "host.example:80", "1.2.3:80"}) {
        LoadResult r = load_config(cfg.write("b.yaml", std::string("control:\n  metricsAddress: \"") + bad + "\"\n"));
        ASSERT_EQ(r.errors.size(), 1u) << bad;
        EXPECT_EQ(r.errors[0].field, "control.metricsAddress") << bad;
        EXPECT_NE(r.errors[0].message.find("want e.g. 127.0.0.1:9617"), std::string::npos) << r.errors[0].str();
    }
    LoadResult unknown = load_config(cfg.write("c.yaml", "control:\n  sock: /x\n"));
    ASSERT_EQ(unknown.errors.size(), 1u);
    EXPECT_NE(unknown.errors[0].message.find("socket, metricsAddress"), std::string::npos) << unknown.errors[0].str();
}

// conntrack.synProxy / synProxyHalfOpen: the SYN-flood defence (auto unless told).
TEST(ConntrackSection, SynProxyModeAndThreshold) {
    TempConfig cfg;
    LoadResult plain = load_config(cfg.write("a.yaml", "conntrack: {maxFlows: 1600}\n"));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.model.syn_proxy, SynProxyMode::automatic);
    EXPECT_EQ(plain.model.syn_proxy_threshold(), 100u) << "maxFlows / 16";
    LoadResult set = load_config(cfg.write("b.yaml", "conntrack:\n  synProxy: on\n  synProxyHalfOpen: 5000\n"));
    ASSERT_TRUE(set.ok()) << set.errors[0].str();
    EXPECT_EQ(set.model.syn_proxy, SynProxyMode::on);
    EXPECT_EQ(set.model.syn_proxy_threshold(), 5000u);
    EXPECT_EQ(load_config(cfg.write("c.yaml", "conntrack: {synProxy: off}\n")).model.syn_proxy, SynProxyMode::off);
    LoadResult bad = load_config(cfg.write("d.yaml", "conntrack:\n  synProxy: sometimes\n"));
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_EQ(bad.errors[0].field, "conntrack.synProxy");
    EXPECT_EQ(bad.errors[0].line, 2);
    EXPECT_NE(bad.errors[0].message.find("auto"), std::string::npos) << bad.errors[0].str();
}

// conntrack.newFlowsPerSource / newFlowsPerSourceBurst: off unless set; the burst defaults to the rate.
TEST(ConntrackSection, NewFlowsPerSource) {
    TempConfig cfg;
    LoadResult plain = load_config(cfg.write("a.yaml", "conntrack: {maxFlows: 1600}\n"));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain.model.new_flows_per_source, 0u);
    LoadResult rate = load_config(cfg.write("b.yaml", "conntrack:\n  newFlowsPerSource: 200\n"));
    ASSERT_TRUE(rate.ok()) << rate.errors[0].str();
    EXPECT_EQ(rate.model.new_flows_per_source, 200u);
    EXPECT_EQ(rate.model.per_source_burst(), 200u);
    LoadResult burst = load_config(cfg.write("c.yaml", "conntrack: {newFlowsPerSource: 50, newFlowsPerSourceBurst: 400}\n"));
    ASSERT_TRUE(burst.ok()) << burst.errors[0].str();
    EXPECT_EQ(burst.model.per_source_burst(), 400u);
    LoadResult bad = load_config(cfg.write("d.yaml", "conntrack:\n  newFlowsPerSourceBurst: 0\n"));
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_EQ(bad.errors[0].field, "conntrack.newFlowsPerSourceBurst");
}

}  // namespace
}  // namespace nfgate::loader

// The daemon's option handling and reload decisions, without root, signals or a real data path.
#include <gtest/gtest.h>

#include <vector>

#include "control/daemon/gateway_controller.hpp"
#include "control/daemon/options.hpp"
#include "tests/control/temp_config.hpp"

using namespace nfgate;
using namespace nfgate::daemon;

namespace {

struct Parsed {
    bool ok;
    Options opts;
    std::string help, err;
};

Parsed parse(std::vector<const char*> args) {
    args.insert(args.begin(), "nfgate");
    Parsed p;
    p.ok = parse_options(static_cast<int>(args.size()), args.data(), p.opts, p.help, p.err);
    return p;
}

TEST(Options, ModesAndOverride) {
    auto run = parse({"--config", "gw.yaml"});
    ASSERT_TRUE(run.ok) << run.err;
    EXPECT_EQ(run.opts.mode, Mode::run);
    EXPECT_EQ(run.opts.config, "gw.yaml");
    EXPECT_FALSE(run.opts.dataplane.has_value());

    auto check = parse({"-c", "gw.yaml", "--check", "--dataplane", "dpdk", "-v"});
    ASSERT_TRUE(check.ok) << check.err;
    EXPECT_EQ(check.opts.mode, Mode::check);
    EXPECT_EQ(check.opts.dataplane, DataplaneKind::dpdk);
    EXPECT_TRUE(check.opts.verbose);

    auto once = parse({"--config=gw.yaml", "--once"});
    ASSERT_TRUE(once.ok) << once.err;
    EXPECT_EQ(once.opts.mode, Mode::once);

    auto cleanup = parse({"--cleanup"});
    ASSERT_TRUE(cleanup.ok) << "cleanup needs no config: " << cleanup.err;
    EXPECT_EQ(cleanup.opts.mode, Mode::cleanup);

    auto help = parse({"--help"});
    ASSERT_TRUE(help.ok);
    EXPECT_EQ(help.opts.mode, Mode::help);
    for (const char* opt : {"--config", "--check", "--once", "--cleanup", "--dataplane", "--verbose", "--help"})
        EXPECT_NE(help.help.find(opt), std::string::npos) << opt;
}

TEST(Options, UsageErrorsSayWhatIsValid) {
    auto none = parse({});
    EXPECT_FALSE(none.ok);
    EXPECT_EQ(none.err, "--config FILE is required (the gateway file)");

    auto bad_dp = parse({"-c", "x", "--dataplane", "xdp"});
    EXPECT_FALSE(bad_dp.ok);
    EXPECT_EQ(bad_dp.err, "--dataplane xdp is not valid (want kernel or dpdk)");

    auto two = parse({"-c", "x", "--check", "--once"});
    EXPECT_FALSE(two.ok);
    EXPECT_EQ(two.err, "--check, --once and --cleanup exclude each other (want at most one)");

    auto once_dpdk = parse({"-c", "x", "--once", "--dataplane", "dpdk"});
    EXPECT_FALSE(once_dpdk.ok);
    EXPECT_EQ(once_dpdk.err, "--once applies the kernel path (want no --dataplane, or --dataplane kernel)");

    auto unknown = parse({"-c", "x", "--frobnicate"});
    EXPECT_FALSE(unknown.ok);
    EXPECT_NE(unknown.err.find("frobnicate"), std::string::npos) << unknown.err;
}

// Records what the controller asks of the data path; refuses when told to.
class FakeDataplane : public Dataplane {
public:
    bool start(const Model& m, std::string& err) override { return take("start", m, err); }
    bool update(const Model& m, std::string& err) override { return take("update", m, err); }
    void stop() override { calls.push_back("stop"); }

    std::vector<std::string> calls;
    std::vector<Model> applied;
    std::string refuse;  // non-empty: the next start/update fails with this reason
    bool workers_need_restart = false;  // like the fast path, for one of its fields

protected:
    std::string fields_needing_restart(const Model& running, const Model& next) const override {
        if (workers_need_restart && running.workers != next.workers) return "workers changed: restart nfgate";
        return {};
    }

private:
    bool take(const char* what, const Model& m, std::string& err) {
        calls.push_back(what);
        if (!refuse.empty()) {
            err = refuse;
            refuse.clear();
            return false;
        }
        applied.push_back(m);
        return true;
    }
};

loader::LoadResult model_with(size_t services, DataplaneKind kind = DataplaneKind::kernel) {
    loader::LoadResult r;
    r.model.dataplane = kind;
    for (size_t i = 0; i < services; ++i) {
        Service s;
        s.ns = "ns";
        s.name = "s" + std::to_string(i);
        r.model.services.push_back(s);
    }
    return r;
}

loader::LoadResult with_errors() {
    loader::LoadResult r;
    r.errors.push_back(loader::Diag{"m.yaml", 4, "Service ns/a", "spec.ports[0].port", "0 is out of range (want 1-65535)"});
    r.errors.push_back(loader::Diag{"m.yaml", 9, "Service ns/b", "spec.clusterIP", "missing"});
    return r;
}

TEST(GatewayController, StartThenReload) {
    FakeDataplane dp;
    GatewayController c(dp);
    Outcome started = c.start(model_with(1));
    EXPECT_TRUE(started.ok);
    EXPECT_EQ(started.status, "nfgate: ready");
    Outcome reloaded = c.reload(model_with(2));
    EXPECT_TRUE(reloaded.ok);
    EXPECT_EQ(reloaded.status, "nfgate: reloaded");
    EXPECT_EQ(dp.calls, (std::vector<std::string>{"start", "update"}));
    ASSERT_TRUE(c.current().has_value());
    EXPECT_EQ(c.current()->services.size(), 2u);
}

TEST(GatewayController, InvalidConfigOnReloadKeepsTheOldModelAndNamesTheFirstError) {
    FakeDataplane dp;
    GatewayController c(dp);
    ASSERT_TRUE(c.start(model_with(1)).ok);
    Outcome o = c.reload(with_errors());
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.status,
              "nfgate: reload rejected: m.yaml:4: Service ns/a: spec.ports[0].port: 0 is out of range (want 1-65535)");
    EXPECT_EQ(o.details, (std::vector<std::string>{
                             "m.yaml:4: Service ns/a: spec.ports[0].port: 0 is out of range (want 1-65535)",
                             "m.yaml:9: Service ns/b: spec.clusterIP: missing"}));
    EXPECT_EQ(dp.calls, std::vector<std::string>{"start"}) << "nothing reaches the data path";
    EXPECT_EQ(c.current()->services.size(), 1u);
}

TEST(GatewayController, DataPathRefusalKeepsTheOldModel) {
    FakeDataplane dp;
    GatewayController c(dp);
    ASSERT_TRUE(c.start(model_with(1)).ok);
    dp.refuse = "Service ns/s0: map vip_ports: File exists";
    Outcome o = c.reload(model_with(3));
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.status, "nfgate: reload rejected: Service ns/s0: map vip_ports: File exists");
    EXPECT_EQ(c.current()->services.size(), 1u);
    Outcome again = c.reload(model_with(3));
    EXPECT_TRUE(again.ok) << "a later good reload goes through";
    EXPECT_EQ(c.current()->services.size(), 3u);
}

TEST(GatewayController, SwitchingDataPathNeedsARestart) {
    FakeDataplane dp;
    GatewayController c(dp);
    ASSERT_TRUE(c.start(model_with(1, DataplaneKind::kernel)).ok);
    Outcome o = c.reload(model_with(1, DataplaneKind::dpdk));
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.status, "nfgate: reload rejected: dataplane changed from kernel to dpdk (restart nfgate to switch data paths)");
    EXPECT_EQ(o.details,
              std::vector<std::string>{"dataplane changed from kernel to dpdk (restart nfgate to switch data paths)"});
    EXPECT_EQ(dp.calls, std::vector<std::string>{"start"});
}

TEST(GatewayController, ADataPathsStartOnlyFieldIsRefusedBeforeItsUpdate) {
    FakeDataplane dp;
    dp.workers_need_restart = true;
    GatewayController c(dp);
    ASSERT_TRUE(c.start(model_with(1, DataplaneKind::dpdk)).ok);
    loader::LoadResult more_workers = model_with(2, DataplaneKind::dpdk);
    more_workers.model.workers = 2;
    Outcome o = c.reload(more_workers);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.status, "nfgate: reload rejected: workers changed: restart nfgate");
    EXPECT_EQ(o.details, std::vector<std::string>{"workers changed: restart nfgate"});
    EXPECT_EQ(dp.calls, std::vector<std::string>{"start"});
    EXPECT_EQ(c.current()->services.size(), 1u);
    EXPECT_TRUE(c.reload(model_with(2, DataplaneKind::dpdk)).ok) << "the same workers: applied live";
}

TEST(GatewayController, FailedStartIsNotReady) {
    FakeDataplane dp;
    GatewayController c(dp);
    Outcome bad = c.start(with_errors());
    EXPECT_FALSE(bad.ok);
    EXPECT_TRUE(dp.calls.empty());
    dp.refuse = "EAL: cannot init";
    Outcome refused = c.start(model_with(1));
    EXPECT_FALSE(refused.ok);
    EXPECT_EQ(refused.status, "nfgate: start failed: EAL: cannot init");
    EXPECT_FALSE(c.current().has_value());
    EXPECT_FALSE(c.reload(model_with(1)).ok) << "nothing to update before a start";
}

TEST(GatewayController, ReloadFromFilesEndToEnd) {
    testsupport::TempConfig cfg;
    std::string svc = "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: n}\n"
                      "spec:\n  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n";
    cfg.write("m.yaml", svc);
    std::string gw = cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n");
    FakeDataplane dp;
    GatewayController c(dp);
    ASSERT_TRUE(c.start(loader::load_config(gw)).ok);
    cfg.write("m.yaml", svc + "---\n" + svc);  // the same Service twice: invalid
    Outcome o = c.reload(loader::load_config(gw));
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.status.find("Service n/a: metadata.name: defined twice"), std::string::npos) << o.status;
    ASSERT_EQ(dp.applied.size(), 1u);
    EXPECT_EQ(dp.applied[0].services.size(), 1u);
}

}  // namespace

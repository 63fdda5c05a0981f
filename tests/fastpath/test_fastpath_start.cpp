// FastPath::start as the daemon calls it: EAL from the gateway file's `eal:` list, ports
// hot-plugged from `device` devargs (net_null here: it receives an endless stream of zeroed
// frames and swallows what is sent), workers launched; then update, stats and stop.
// EAL can be initialised once per process, so this binary holds one start.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "dataplane/fast_path.hpp"
#include "tests/fastpath/nat_fixture.hpp"

namespace nfgate::test {
namespace {

Model null_model() {
    Model m = nat_model(1, {"10.244.1.10"});
    m.eal_args = {"--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--log-level=*:warning",
                  "--file-prefix=nfgate_fps_" + std::to_string(getpid())};
    m.interfaces = {{"ext", "net_null0", {ip("192.0.2.1"), 24}}, {"pods", "net_null1", {ip("10.244.0.1"), 16}}};
    return m;
}

TEST(FastPathStart, BringsUpEalPortsAndWorkersFromTheModel) {
    std::string err;
    const Model m = null_model();
    auto fp = fastpath::FastPath::start(m, err);
    ASSERT_NE(fp, nullptr) << err;

    // The null ports deliver frames nobody addressed to the gateway: the worker polls, the
    // engine counts and drops them.
    fastpath::Counters c;
    for (int i = 0; i < 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        c = fp->counters();
        if (c.ports.size() == 2 && c.ports[0].rx_packets > 0 && c.ports[1].rx_packets > 0) break;
    }
    ASSERT_EQ(c.ports.size(), 2u);
    EXPECT_EQ(c.ports[0].name, "ext");
    EXPECT_EQ(c.ports[1].name, "pods");
    EXPECT_GT(c.ports[0].rx_packets, 0u);
    EXPECT_GT(c.ports[1].rx_packets, 0u);
    ASSERT_EQ(c.workers.size(), 1u);
    EXPECT_GT(c.workers[0].rx_packets, 0u);
    EXPECT_EQ(c.flow_capacity, m.max_flows);

    Model next = m;
    next.services[0].ports[0].endpoints.push_back({ip("10.244.1.11"), 8080, true});
    EXPECT_TRUE(fp->update(next, err)) << err;
    Model bad = next;
    bad.eal_args.push_back("--log-level=*:debug");
    EXPECT_FALSE(fp->update(bad, err));
    EXPECT_EQ(err.rfind("eal changed", 0), 0u) << err;

    fp->stop();
    fp->stop();  // idempotent
    EXPECT_FALSE(fp->update(next, err));
    std::error_code ignored;
    std::filesystem::remove_all("/var/run/dpdk/nfgate_fps_" + std::to_string(getpid()), ignored);
}

}  // namespace
}  // namespace nfgate::test

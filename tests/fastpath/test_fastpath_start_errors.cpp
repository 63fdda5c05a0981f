// FastPath::start refusing a gateway file: the error names the field and what would be valid.
// One failed start per process (EAL is torn down with it), so each case is its own process:
// gtest death-test style forks keep them apart.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "dataplane/fast_path.hpp"
#include "tests/fastpath/nat_fixture.hpp"

namespace nfgate::test {
namespace {

Model base(const std::string& tag) {
    Model m = nat_model(1, {"10.244.1.10"});
    m.eal_args = {"--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--log-level=*:error",
                  "--file-prefix=nfgate_fpe_" + tag + std::to_string(getpid())};
    m.interfaces = {{"ext", "net_null0", {ip("192.0.2.1"), 24}}, {"pods", "net_null1", {ip("10.244.0.1"), 16}}};
    return m;
}

// Runs start() in a child process and returns the error text it produced.
std::string start_error(const Model& m) {
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        std::string err;
        auto fp = fastpath::FastPath::start(m, err);
        if (fp) {
            err = "started";
            fp->stop();
        }
        (void)!write(fds[1], err.data(), err.size());
        _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    for (const auto& a : m.eal_args)
        if (a.rfind("--file-prefix=", 0) == 0) {
            std::error_code ignored;
            std::filesystem::remove_all("/var/run/dpdk/" + a.substr(14), ignored);
        }
    return out;
}

TEST(FastPathStartErrors, UnknownDeviceNamesTheInterfaceField) {
    Model m = base("dev");
    m.interfaces[1].device = "net_nosuchdriver0";
    const std::string err = start_error(m);
    EXPECT_EQ(err.rfind("interfaces[1] (pods).device", 0), 0u) << err;
    EXPECT_NE(err.find("net_tap"), std::string::npos) << err;
}

TEST(FastPathStartErrors, TooFewLcoresForTheWorkersSaysHowToMapThem) {
    Model m = base("lc");
    m.workers = 2;
    const std::string err = start_error(m);
    EXPECT_EQ(err.rfind("workers", 0), 0u) << err;
    EXPECT_NE(err.find("--lcores=0@0,1@1,2@1"), std::string::npos) << err;
}

TEST(FastPathStartErrors, BadEalArgumentsNameEal) {
    Model m = base("eal");
    m.eal_args.push_back("--no-such-eal-option");
    const std::string err = start_error(m);
    EXPECT_EQ(err.rfind("eal:", 0), 0u) << err;
}

TEST(FastPathStartErrors, TwoWorkersStartWithLcoreMapping) {
    Model m = base("two");
    m.workers = 2;
    for (auto& a : m.eal_args)
        if (a == "0-1") a = "0";
    m.eal_args.erase(std::find(m.eal_args.begin(), m.eal_args.end(), "-l"));
    m.eal_args.erase(std::find(m.eal_args.begin(), m.eal_args.end(), "0"));
    m.eal_args.push_back("--lcores=0@0,1@1,2@1");
    EXPECT_EQ(start_error(m), "started");
}

}  // namespace
}  // namespace nfgate::test

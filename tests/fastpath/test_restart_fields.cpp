// Which model changes update() must refuse: the pure rule, without EAL.
#include <gtest/gtest.h>

#include "dataplane/fast_path.hpp"

namespace nfgate::fastpath {
namespace {

Model running_model() {
    Model m;
    m.dataplane = DataplaneKind::dpdk;
    m.eal_args = {"--no-huge", "-m", "512", "--no-pci", "-l", "0-1"};
    m.workers = 1;
    m.interfaces = {{"ext", "net_tap0,iface=nfg-ext", {0xc0000201, 24}},
                    {"pods", "net_tap1,iface=nfg-pods", {0x0af40001, 16}}};
    Service s;
    s.ns = "default";
    s.name = "web";
    s.cluster_ips = {0x0a60000a};
    s.ports = {{"http", Proto::tcp, 80, 0, {{0x0af4010a, 8080, true}}}};
    m.services = {s};
    return m;
}

TEST(RestartFields, ServiceAndEndpointChangesApplyLive) {
    Model a = running_model();
    Model b = a;
    b.services[0].ports[0].endpoints.push_back({0x0af4010b, 8080, true});
    b.services[0].cluster_ips = {0x0a60000b};
    b.routes.push_back({{0, 0}, 0xc00002fe});
    b.masquerade.all = true;
    EXPECT_EQ(FastPath::restart_reason(a, b), "");
}

TEST(RestartFields, EachRestartFieldIsNamed) {
    const Model a = running_model();
    struct Case {
        const char* field;
        void (*change)(Model&);
    };
    const Case cases[] = {
        {"eal", [](Model& m) { m.eal_args.push_back("--log-level=8"); }},
        {"workers", [](Model& m) { m.workers = 2; }},
        {"conntrack.maxFlows", [](Model& m) { m.max_flows = 1024; }},
        {"interfaces (count)", [](Model& m) { m.interfaces.pop_back(); }},
        {"interfaces[1] (pods)", [](Model& m) { m.interfaces[1].device = "net_tap1,iface=other"; }},
        {"interfaces[0] (ext)", [](Model& m) { m.interfaces[0].address.len = 25; }},
    };
    for (const auto& c : cases) {
        Model b = a;
        c.change(b);
        std::string why = FastPath::restart_reason(a, b);
        EXPECT_EQ(why.rfind(c.field, 0), 0u) << c.field << " -> " << why;
        EXPECT_NE(why.find("restart"), std::string::npos) << why;
    }
    Model more_workers = a;
    more_workers.workers = 2;
    EXPECT_EQ(FastPath::restart_reason(a, more_workers),
              "workers changed: EAL, queues and preallocated tables are set up once at start; restart nfgate to "
              "apply it");
}

}  // namespace
}  // namespace nfgate::fastpath

// BGP through BIRD: the gateway file's bgp section, what is announced, BIRD's configuration
// (checked by BIRD's own parser), its control protocol, and a real BIRD started, reconfigured,
// restarted after a kill and stopped by the speaker.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "control/bgp/announce.hpp"
#include "control/bgp/bird_config.hpp"
#include "control/bgp/bird_reply.hpp"
#include "control/bgp/bird_speaker.hpp"
#include "control/loader/config_loader.hpp"
#include "temp_config.hpp"

namespace nfgate::bgp {
namespace {

using loader::load_config;
using loader::LoadResult;
using testsupport::TempConfig;

uint32_t ip(const char* s) {
    uint32_t v = 0;
    EXPECT_TRUE(parse_ipv4(s, v)) << s;
    return v;
}

TEST(BgpSection, ReadsPeersAndAnnounceWithDefaults) {
    TempConfig cfg;
    LoadResult r = load_config(cfg.write("a.yaml", "nodeAddresses: [192.0.2.1]\n"
                                                   "bgp:\n  asn: 64512\n"
                                                   "  peers:\n    - { address: 192.0.2.254, asn: 64500 }\n"
                                                   "    - { address: 192.0.2.253, asn: 4200000000, port: 1179,"
                                                   " password: s3cret, holdTime: 9, bfd: true }\n"));
    ASSERT_TRUE(r.ok()) << r.errors[0].str();
    const BgpSettings& b = r.model.bgp;
    EXPECT_TRUE(b.enabled);
    EXPECT_EQ(b.asn, 64512u);
    EXPECT_EQ(b.router_id, ip("192.0.2.1")) << "routerId defaults to the first node address";
    ASSERT_EQ(b.peers.size(), 2u);
    EXPECT_EQ(b.peers[0].port, 179);
    EXPECT_EQ(b.peers[1].asn, 4200000000u);
    EXPECT_EQ(b.peers[1].port, 1179);
    EXPECT_EQ(b.peers[1].password, "s3cret");
    EXPECT_EQ(b.peers[1].hold_time, 9);
    EXPECT_TRUE(b.peers[1].bfd);
    EXPECT_EQ(b.announce, (BgpAnnounce{true, true, false, false})) << "LB IPs and externalIPs by default";

    LoadResult none = load_config(cfg.write("b.yaml", "serviceCIDRs: [10.96.0.0/16]\n"));
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none.model.bgp.enabled);

    LoadResult a = load_config(cfg.write("c.yaml", "bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2, asn: 2}]\n"
                                                   "  announce: [clusterIPs, serviceCIDRs]\n"));
    ASSERT_TRUE(a.ok()) << a.errors[0].str();
    EXPECT_EQ(a.model.bgp.announce, (BgpAnnounce{false, false, true, true}));
}

TEST(BgpSection, MistakesNameTheFieldAndWhatIsValid) {
    TempConfig cfg;
    struct Case {
        const char* yaml;
        const char* field;
        const char* says;
    } cases[] = {
        {"bgp:\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2, asn: 2}]\n", "bgp.asn", "AS number"},
        {"bgp:\n  asn: 0\n  routerId: 10.0.0.1\n  peers: []\n", "bgp.asn", "1"},
        {"bgp:\n  asn: 1\n  peers: [{address: 10.0.0.2, asn: 2}]\n", "bgp.routerId", "no node address"},
        {"bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.300, asn: 2}]\n", "bgp.peers[0].address", ""},
        {"bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2}]\n", "bgp.peers[0].asn", "AS number"},
        {"bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2, asn: 2, holdTime: 2}]\n",
         "bgp.peers[0].holdTime", "3"},
        {"bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2, asn: 2, password: 'a\"b'}]\n",
         "bgp.peers[0].password", "quotes"},
        {"bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2, asn: 2}, {address: 10.0.0.2, asn: 3}]\n",
         "bgp.peers[1].address", "twice"},
        {"bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2, asn: 2}]\n  announce: [podIPs]\n",
         "bgp.announce[0]", "loadBalancerIPs"},
        {"bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers: [{address: 10.0.0.2, asn: 2, ttl: 3}]\n", "bgp.peers[0].ttl", "bfd"},
    };
    for (const Case& c : cases) {
        LoadResult r = load_config(cfg.write("x.yaml", c.yaml));
        ASSERT_FALSE(r.ok()) << c.yaml;
        EXPECT_EQ(r.errors[0].field, c.field) << r.errors[0].str();
        EXPECT_EQ(r.errors[0].object, "bgp") << r.errors[0].str();
        EXPECT_NE(r.errors[0].message.find(c.says), std::string::npos) << r.errors[0].str();
    }
}

Model announcing_model() {
    Model m;
    m.bgp.enabled = true;
    m.service_cidrs = {Cidr{ip("10.96.0.0"), 16}};
    Service ready;
    ready.ns = "default";
    ready.name = "web";
    ready.cluster_ips = {ip("10.96.0.10")};
    ready.lb_ips = {ip("203.0.113.10")};
    ready.external_ips = {ip("198.51.100.10")};
    ServicePort p;
    p.port = 80;
    p.endpoints = {Endpoint{ip("10.244.1.10"), 8080, false}, Endpoint{ip("10.244.1.11"), 8080, true}};
    ready.ports = {p};
    Service idle = ready;
    idle.name = "idle";
    idle.cluster_ips = {ip("10.96.0.11")};
    idle.lb_ips = {ip("203.0.113.11")};
    idle.external_ips = {};
    idle.ports[0].endpoints = {Endpoint{ip("10.244.1.12"), 8080, false}};
    m.services = {idle, ready};
    return m;
}

TEST(BgpAnnounce, VipsOfServicesWithAReadyEndpointOnly) {
    Model m = announcing_model();
    EXPECT_EQ(announced_prefixes(m), (std::vector<Cidr>{{ip("198.51.100.10"), 32}, {ip("203.0.113.10"), 32}}));
    m.bgp.announce = BgpAnnounce{false, false, true, false};
    EXPECT_EQ(announced_prefixes(m), (std::vector<Cidr>{{ip("10.96.0.10"), 32}}));
    m.bgp.announce = BgpAnnounce{false, false, false, true};
    EXPECT_EQ(announced_prefixes(m), (std::vector<Cidr>{{ip("10.96.0.0"), 16}})) << "aggregates, whatever is ready";
    m.services[1].ports[0].endpoints[1].ready = false;
    m.bgp.announce = BgpAnnounce{};
    EXPECT_TRUE(announced_prefixes(m).empty()) << "the last ready endpoint went: withdrawn";
    m.bgp.enabled = false;
    EXPECT_TRUE(announced_prefixes(announcing_model()).size() == 2 && announced_prefixes(m).empty());
}

Ip6 ip6(const char* s) {
    Ip6 v;
    EXPECT_TRUE(parse_ipv6(s, v)) << s;
    return v;
}

// IPv6 VIPs go to IPv6 peers, by the same rules: a Service's IPv6 addresses while it has a
// ready IPv6 endpoint (its IPv4 endpoints do not count for them), the IPv6 serviceCIDRs.
TEST(BgpAnnounce, Ipv6VipsByTheirOwnEndpoints) {
    Model m = announcing_model();
    m.service_cidrs6 = {Cidr6{ip6("fd00:10:96::"), 112}};
    Service& web = m.services[1];
    web.lb_ips6 = {ip6("2001:db8:18::10")};
    web.cluster_ips6 = {ip6("fd00:10:96::10")};
    EXPECT_TRUE(announced_prefixes6(m).empty()) << "no IPv6 endpoint yet";
    web.ports[0].endpoints6 = {Endpoint6{ip6("fd00:10:244::10"), 8080, true}};
    EXPECT_EQ(announced_prefixes6(m), (std::vector<Cidr6>{{ip6("2001:db8:18::10"), 128}}));
    m.bgp.announce = BgpAnnounce{false, false, true, true};
    EXPECT_EQ(announced_prefixes6(m),
              (std::vector<Cidr6>{{ip6("fd00:10:96::"), 112}, {ip6("fd00:10:96::10"), 128}}));
    EXPECT_EQ(announced_prefixes(m).size(), 2u) << "the IPv4 half as before";
    EXPECT_EQ(bird_routes6(announced_prefixes6(m)).find("route fd00:10:96::10/128 blackhole;") != std::string::npos, true);
}

TEST(BgpSection, Ipv6Peers) {
    TempConfig cfg;
    LoadResult r = load_config(cfg.write("a.yaml", "nodeAddresses: [192.0.2.1]\n"
                                                   "bgp:\n  asn: 64512\n"
                                                   "  peers:\n    - { address: 192.0.2.254, asn: 64500 }\n"
                                                   "    - { address: \"2001:db8:2::fe\", asn: 64500 }\n"));
    ASSERT_TRUE(r.ok()) << r.errors[0].str();
    ASSERT_EQ(r.model.bgp.peers.size(), 2u);
    EXPECT_FALSE(r.model.bgp.peers[0].ipv6());
    EXPECT_TRUE(r.model.bgp.peers[1].ipv6());
    EXPECT_EQ(r.model.bgp.peers[1].address6, ip6("2001:db8:2::fe"));
    EXPECT_EQ(peer_protocol(r.model.bgp.peers[1]), "peer_2001_db8_2__fe");
    LoadResult twice = load_config(cfg.write("b.yaml", "bgp:\n  asn: 1\n  routerId: 10.0.0.1\n  peers:\n"
                                                       "    - { address: \"2001:db8::1\", asn: 2 }\n"
                                                       "    - { address: \"2001:db8::1\", asn: 3 }\n"));
    ASSERT_FALSE(twice.ok());
    EXPECT_NE(twice.errors[0].str().find("2001:db8::1 is a peer twice"), std::string::npos) << twice.errors[0].str();
}

TEST(BirdFiles, PathsSitBesideTheControlSocket) {
    const BirdPaths p = bird_paths("/run/nfgate/gw1.sock");
    EXPECT_EQ(p.config, "/run/nfgate/gw1.bird.conf");
    EXPECT_EQ(p.routes, "/run/nfgate/gw1.bird.routes.conf");
    EXPECT_EQ(p.socket, "/run/nfgate/gw1.bird.ctl");
    EXPECT_EQ(p.pid, "/run/nfgate/gw1.bird.pid");
    EXPECT_EQ(p.routes6, "/run/nfgate/gw1.bird.routes6.conf");
    EXPECT_EQ(bird_paths("/tmp/x.d/ctl").socket, "/tmp/x.d/ctl.bird.ctl");
}

BgpSettings two_peers() {
    BgpSettings b;
    b.enabled = true;
    b.asn = 64512;
    b.router_id = ip("192.0.2.1");
    b.peers = {BgpPeer{ip("192.0.2.254"), 64500, 179, "", 0, false},
               BgpPeer{ip("192.0.2.253"), 64501, 1179, "s3cret", 9, true},
               BgpPeer{0, 64502, 179, "", 0, false, ip6("2001:db8:2::fe")}};
    return b;
}

// BIRD's own parser (`bird -p`) accepts what nfgate writes.
TEST(BirdFiles, BirdParsesTheConfiguration) {
    if (std::system("command -v bird >/dev/null 2>&1") != 0) GTEST_SKIP() << "bird (Debian bird2) is not installed";
    TempConfig dir;
    const BirdPaths p = bird_paths(dir.path("nfgate.sock"));
    std::ofstream(p.config) << bird_config(two_peers(), p);
    std::ofstream(p.routes) << bird_routes({{ip("203.0.113.10"), 32}, {ip("10.96.0.0"), 16}});
    std::ofstream(p.routes6) << bird_routes6({{ip6("2001:db8:18::10"), 128}, {ip6("fd00:10:96::"), 112}});
    const std::string text = bird_config(two_peers(), p);
    EXPECT_NE(text.find("neighbor 2001:db8:2::fe port 179 as 64502;"), std::string::npos) << text;
    EXPECT_NE(text.find("ipv6 { import none; export where proto = \"nfgate_vips6\""), std::string::npos) << text;
    EXPECT_NE(text.find("neighbor 192.0.2.253 port 1179 as 64501;"), std::string::npos) << text;
    EXPECT_NE(text.find("password \"s3cret\";"), std::string::npos);
    EXPECT_NE(text.find("protocol bfd"), std::string::npos);
    EXPECT_NE(text.find("import none;"), std::string::npos);
    EXPECT_EQ(text.find("protocol kernel"), std::string::npos) << "nothing may reach the kernel's tables";
    EXPECT_EQ(std::system(("bird -p -c " + p.config).c_str()), 0) << text;
}

TEST(BirdReplyParse, LinesCodesContinuationsAnyChunking) {
    const std::string text =
        "2002-Name       Proto      Table      State  Since         Info\n"
        "1002-device1    Device     ---        up     1796340888    \n"
        "1002-peer_192_0_2_254 BGP        ---        up     1796340890    Established   \n"
        "1006-  BGP state:          Established\n"
        "     Neighbor address: 192.0.2.254\n"
        "     Neighbor AS:      64500\n"
        "   Channel ipv4\n"
        "     Routes:         0 imported, 2 exported, 0 preferred\n"
        " \n"
        "1002-peer_192_0_2_253 BGP        ---        start  1796340891    Active        Socket: Connection refused\n"
        "1006-  BGP state:          Active\n"
        "     Neighbor address: 192.0.2.253\n"
        "     Neighbor AS:      64501\n"
        "0000 \n";
    for (size_t chunk : {size_t{1}, size_t{7}, text.size()}) {
        BirdReply r;
        std::string partial;
        for (size_t i = 0; i < text.size(); i += chunk)
            ASSERT_TRUE(feed_bird_reply(std::string_view(text).substr(i, chunk), partial, r));
        ASSERT_TRUE(r.complete()) << chunk;
        EXPECT_TRUE(r.ok());
        const auto s = parse_bgp_sessions(r);
        ASSERT_EQ(s.size(), 2u);
        EXPECT_EQ(s[0].protocol, "peer_192_0_2_254");
        EXPECT_EQ(s[0].peer, "192.0.2.254");
        EXPECT_EQ(s[0].peer_asn, 64500u);
        EXPECT_TRUE(s[0].established());
        EXPECT_EQ(s[0].since_unix, 1796340890);
        EXPECT_EQ(s[0].exported, 2u);
        EXPECT_EQ(s[1].state, "Active");
        EXPECT_EQ(s[1].info, "Active        Socket: Connection refused");
        EXPECT_FALSE(s[1].established());
    }
    BirdReply err;
    std::string partial;
    ASSERT_TRUE(feed_bird_reply("0002-Reading configuration from x\n8002 x, line 3: syntax error\n", partial, err));
    EXPECT_FALSE(err.ok());
    EXPECT_NE(err.text().find("syntax error"), std::string::npos);
    BirdReply junk;
    EXPECT_FALSE(feed_bird_reply("HTTP/1.1 200 OK\n", partial = "", junk));
}

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

pid_t pid_of(const BirdPaths& p) {
    std::ifstream f(p.pid);
    pid_t pid = -1;
    f >> pid;
    return pid;
}

// A real BIRD (no peer answers here; sessions stay Active): started with the routes, told a
// new list with `configure` (same process, nothing restarted), started again after a kill,
// and gone after stop().
TEST(BirdSpeakerRun, StartsReconfiguresRestartsAndStops) {
    if (std::system("command -v bird >/dev/null 2>&1") != 0) GTEST_SKIP() << "bird (Debian bird2) is not installed";
    TempConfig dir;
    Model m = announcing_model();
    m.control.socket = dir.path("nfgate.sock");
    m.bgp = two_peers();  // on loopback: the sessions only ever try 127.0.0.x
    m.bgp.peers[0].address = ip("127.0.0.2");
    m.bgp.peers[1].address = ip("127.0.0.3");
    m.bgp.peers[1].bfd = false;
    m.bgp.peers[2].address6 = ip6("::1");  // an IPv6 peer, on loopback too
    m.services[1].lb_ips6 = {ip6("2001:db8:18::10")};
    m.services[1].ports[0].endpoints6 = {Endpoint6{ip6("fd00:10:244::10"), 8080, true}};
    BirdSpeaker speaker;
    std::string err;
    ASSERT_TRUE(speaker.apply(m, err)) << err;
    ASSERT_TRUE(speaker.running());
    const pid_t first = pid_of(speaker.paths());
    ASSERT_TRUE(alive(first));
    auto routes = [&]() {
        BirdReply r;
        std::string e;
        EXPECT_TRUE(BirdSpeaker::command(speaker.paths().socket, "show route protocol nfgate_vips", r, e)) << e;
        return r.text();
    };
    EXPECT_NE(routes().find("203.0.113.10/32"), std::string::npos) << routes();
    BirdReply r6;
    ASSERT_TRUE(BirdSpeaker::command(speaker.paths().socket, "show route protocol nfgate_vips6", r6, err)) << err;
    EXPECT_NE(r6.text().find("2001:db8:18::10/128"), std::string::npos) << r6.text();
    auto sessions = speaker.sessions(err);
    ASSERT_EQ(sessions.size(), 3u) << err;
    EXPECT_EQ(sessions[0].peer_asn + sessions[1].peer_asn + sessions[2].peer_asn, 64500u + 64501u + 64502u);

    m.services[0].ports[0].endpoints[0].ready = true;  // idle gets a ready endpoint
    m.services[1].ports[0].endpoints[1].ready = false;  // web loses its last
    ASSERT_TRUE(speaker.apply(m, err)) << err;
    EXPECT_EQ(pid_of(speaker.paths()), first) << "a new route list is a configure, not a restart";
    const std::string now = routes();
    EXPECT_NE(now.find("203.0.113.11/32"), std::string::npos) << now;
    EXPECT_EQ(now.find("203.0.113.10/32"), std::string::npos) << now;

    ::kill(first, SIGKILL);
    for (int i = 0; i < 100 && alive(first); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    speaker.tick();
    EXPECT_TRUE(speaker.running());
    EXPECT_EQ(speaker.restarts(), 1u);
    const pid_t second = pid_of(speaker.paths());
    EXPECT_NE(second, first);
    EXPECT_NE(routes().find("203.0.113.11/32"), std::string::npos) << "the restarted BIRD announces the same";

    speaker.stop();
    EXPECT_FALSE(speaker.running());
    EXPECT_FALSE(alive(second));
}

}  // namespace
}  // namespace nfgate::bgp

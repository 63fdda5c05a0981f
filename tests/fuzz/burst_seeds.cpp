// Writes the burst fuzzer's seed corpus: every packet fixture of tests/engine (a SYN to each kind
// of frontend, replies, fragments, ICMP errors, ARP, pings, egress...) replayed on the bench
// gateway, each fixture's input frames as one seed in fuzz_burst's record format, one burst per
// step with "fix checksums" set so mutations keep reaching past the checksum checks.
//   fuzz_burst_seeds DIR
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/engine/engine_lab.hpp"
#include "tests/engine/fixtures.hpp"

namespace {
rte_mempool* g_pool = nullptr;
}

rte_mempool* nfgate::test::test_pool() { return g_pool; }

namespace {
unsigned write_seed(const std::string& dir, const std::string& name, const std::string& bytes) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out << bytes;
    if (out.good()) return 1;
    std::fprintf(stderr, "fuzz_burst_seeds: cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    char prog[] = "fuzz_burst_seeds", a1[] = "--no-huge", a2[] = "-m", a3[] = "256", a4[] = "--no-pci",
         a5[] = "--log-level=error", a6[] = "--file-prefix=nfgate_fuzz_seeds", a7[] = "--no-shconf";
    char* eal_argv[] = {prog, a1, a2, a3, a4, a5, a6, a7};
    if (rte_eal_init(8, eal_argv) < 0) return 1;
    g_pool = rte_pktmbuf_pool_create("seeds", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g_pool == nullptr) return 1;
    using namespace nfgate::test;
    std::filesystem::create_directories(argv[1]);
    unsigned written = 0;
    for (const Fixture& f : fixtures()) {
        Lab lab;
        std::string seed;
        Out prev;
        for (const Step& step : f.steps) {
            std::vector<uint8_t> frame = step.input(prev);
            const auto ctl = static_cast<uint8_t>((step.in_port == kPods ? 1 : 0) | 0x02 | 0x20);
            seed += static_cast<char>(ctl);
            seed += static_cast<char>(frame.size() & 0xff);
            seed += static_cast<char>(frame.size() >> 8);
            seed.append(frame.begin(), frame.end());
            lab.send(step.in_port, frame);
            if (lab.io.sent.size() == 1) prev = parse_out(lab.io.sent[0].m);
        }
        written += write_seed(argv[1], f.name, seed);
    }
    // The SYN proxy: switched on (control bit 7), a client's SYN to web's externalIP, then its
    // ACK with ack = fuzz_burst's cookie marker (the harness puts the valid cookie in).
    {
        Pkt syn = from_router(Pkt::tcp("198.51.100.7", 42000, "192.0.2.50", 80, RTE_TCP_SYN_FLAG));
        syn.seq = 0x10000000;
        Pkt ack = syn;
        ack.tcp_flags = RTE_TCP_ACK_FLAG;
        ack.seq = syn.seq + 1;
        ack.ack = 0xc00c1e01;
        std::string seed;
        for (const auto& [ctl, frame] : {std::pair<uint8_t, std::vector<uint8_t>>{0x80 | 0x22, serialize(syn)},
                                         std::pair<uint8_t, std::vector<uint8_t>>{0x22, serialize(ack)}}) {
            seed += static_cast<char>(ctl);
            seed += static_cast<char>(frame.size() & 0xff);
            seed += static_cast<char>(frame.size() >> 8);
            seed.append(frame.begin(), frame.end());
        }
        written += write_seed(argv[1], "syn_proxy_handshake", seed);
    }
    std::printf("fuzz_burst_seeds: %u seeds in %s\n", written, argv[1]);
    return 0;
}

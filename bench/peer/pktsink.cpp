// Pod-side sink of the peer benchmark: counts the generator's frames that arrive translated
// correctly (destination = one of the endpoints at the target port, IP and UDP checksums intact),
// read from an AF_PACKET TPACKET_V3 ring so the kernel hands over whole blocks, not packets.
//
//   pktsink --iface s0 --endpoints 10.244.1.10,10.244.1.11 --dst-port 5353 [--snat-src 10.244.0.1]
//           [--seconds 60]
// Prints "pktsink: ready" on stderr once bound; runs until SIGTERM/SIGINT or --seconds; then one
// JSON line on stdout. The arrival rate uses the kernel's receive timestamps of the first and the
// last valid frame, so the sink's own scheduling does not move it.
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sys/mman.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <vector>

#include "bench/peer/peer_args.hpp"
#include "bench/peer/peer_packet.hpp"

using namespace nfgate::peer;

namespace {

constexpr unsigned kBlockSize = 1 << 18;
constexpr unsigned kBlocks = 64;
constexpr unsigned kFrameSize = 2048;
constexpr unsigned kRetireMs = 4;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

struct RxRing {
    int fd = -1;
    uint8_t* base = nullptr;
    size_t bytes = 0;

    ~RxRing() {
        if (base) munmap(base, bytes);
        if (fd >= 0) close(fd);
    }
    tpacket_block_desc* block(unsigned i) const {
        return reinterpret_cast<tpacket_block_desc*>(base + static_cast<size_t>(i) * kBlockSize);
    }
};

void open_ring(RxRing& ring, const std::string& ifname) {
    ring.fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
    check(ring.fd >= 0, "socket(AF_PACKET)");
    int version = TPACKET_V3;
    check(setsockopt(ring.fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) == 0, "PACKET_VERSION");
    tpacket_req3 req{};
    req.tp_block_size = kBlockSize;
    req.tp_block_nr = kBlocks;
    req.tp_frame_size = kFrameSize;
    req.tp_frame_nr = kBlockSize / kFrameSize * kBlocks;
    req.tp_retire_blk_tov = kRetireMs;
    check(setsockopt(ring.fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) == 0, "PACKET_RX_RING");
    ring.bytes = static_cast<size_t>(kBlockSize) * kBlocks;
    void* mem = mmap(nullptr, ring.bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, ring.fd, 0);
    check(mem != MAP_FAILED, "mmap of the RX ring");
    ring.base = static_cast<uint8_t*>(mem);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_IP);
    addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    check(addr.sll_ifindex != 0, "interface '" + ifname + "'");
    check(bind(ring.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind to " + ifname);
}

struct Expect {
    std::vector<uint32_t> endpoints;  // network order
    uint16_t dst_port;  // host order
    uint32_t snat_src;  // network order, 0: not checked
};

struct Tally {
    uint64_t frames = 0;  // every IPv4 frame the ring delivered
    uint64_t ours = 0;  // frames with the generator's marker
    uint64_t valid = 0;
    uint64_t wrong_dst = 0;
    uint64_t bad_checksum = 0;
    uint64_t snat_src = 0;
    std::vector<uint64_t> per_endpoint;
    double first_ts = 0, last_ts = 0;
};

void classify(const uint8_t* frame, uint32_t len, bool csum_ready, double ts, const Expect& ex, Tally& t) {
    ++t.frames;
    if (len < kEthLen + kIpLen + kUdpLen + kMarker.size() || frame[12] != 0x08 || frame[13] != 0x00) return;
    const uint8_t* ip = frame + kEthLen;
    const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
    if (ip[9] != 17 || ihl < kIpLen || len < kEthLen + ihl + kUdpLen + kMarker.size()) return;
    const uint8_t* udp = ip + ihl;
    if (std::memcmp(udp + kUdpLen, kMarker.data(), kMarker.size()) != 0) return;
    ++t.ours;
    const size_t udp_len = static_cast<size_t>(udp[4] << 8 | udp[5]);
    const bool udp_csum_used = udp[6] != 0 || udp[7] != 0;
    if (fold(sum16(ip, ihl)) != 0xffff || udp_len < kUdpLen || kEthLen + ihl + udp_len > len ||
        (csum_ready && udp_csum_used && udp_sum(ip, udp, udp_len) != 0xffff)) {
        ++t.bad_checksum;
        return;
    }
    uint32_t dst, src;
    std::memcpy(&dst, ip + 16, 4);
    std::memcpy(&src, ip + 12, 4);
    const uint16_t dport = static_cast<uint16_t>(udp[2] << 8 | udp[3]);
    size_t which = ex.endpoints.size();
    for (size_t i = 0; i < ex.endpoints.size(); ++i)
        if (ex.endpoints[i] == dst) which = i;
    if (which == ex.endpoints.size() || dport != ex.dst_port) {
        ++t.wrong_dst;
        return;
    }
    ++t.valid;
    ++t.per_endpoint[which];
    if (ex.snat_src && src == ex.snat_src) ++t.snat_src;
    if (t.first_ts == 0) t.first_ts = ts;
    t.last_ts = ts;
}

void drain_block(tpacket_block_desc* block, const Expect& ex, Tally& t) {
    const uint32_t n = block->hdr.bh1.num_pkts;
    auto* pkt = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(block) + block->hdr.bh1.offset_to_first_pkt);
    for (uint32_t i = 0; i < n; ++i) {
        const uint8_t* frame = reinterpret_cast<const uint8_t*>(pkt) + pkt->tp_mac;
        const double ts = static_cast<double>(pkt->tp_sec) + pkt->tp_nsec / 1e9;
        classify(frame, pkt->tp_snaplen, !(pkt->tp_status & TP_STATUS_CSUMNOTREADY), ts, ex, t);
        pkt = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(pkt) + pkt->tp_next_offset);
    }
}

Expect parse_expect(const Args& args) {
    Expect ex{};
    std::stringstream list(args.str("endpoints"));
    for (std::string item; std::getline(list, item, ',');) ex.endpoints.push_back(parse_ipv4(item));
    if (ex.endpoints.empty()) throw std::invalid_argument("--endpoints: expected a comma-separated address list");
    ex.dst_port = static_cast<uint16_t>(args.num("dst-port", 5353));
    const std::string snat = args.str("snat-src", "");
    ex.snat_src = snat.empty() ? 0 : parse_ipv4(snat);
    return ex;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Args args(argc, argv);
        const Expect ex = parse_expect(args);
        RxRing ring;
        open_ring(ring, args.str("iface"));
        tpacket_stats_v3 stats{};
        socklen_t slen = sizeof stats;
        getsockopt(ring.fd, SOL_PACKET, PACKET_STATISTICS, &stats, &slen);  // reading resets
        std::signal(SIGTERM, on_signal);
        std::signal(SIGINT, on_signal);
        std::fprintf(stderr, "pktsink: ready\n");
        std::fflush(stderr);

        Tally t;
        t.per_endpoint.assign(ex.endpoints.size(), 0);
        const auto cpu0 = cpu_seconds();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(args.num("seconds", 60));
        unsigned next = 0;
        while (!g_stop && std::chrono::steady_clock::now() < deadline) {
            tpacket_block_desc* block = ring.block(next);
            if (!(__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
                pollfd pfd{ring.fd, POLLIN | POLLERR, 0};
                poll(&pfd, 1, 50);
                continue;
            }
            drain_block(block, ex, t);
            __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
            next = (next + 1) % kBlocks;
        }
        const auto cpu1 = cpu_seconds();
        slen = sizeof stats;
        getsockopt(ring.fd, SOL_PACKET, PACKET_STATISTICS, &stats, &slen);
        const double span = t.last_ts - t.first_ts;
        std::printf("{\"frames\": %llu, \"ours\": %llu, \"valid\": %llu, \"wrong_dst\": %llu, \"bad_checksum\": %llu, "
                    "\"snat_src\": %llu, \"per_endpoint\": [",
                    static_cast<unsigned long long>(t.frames), static_cast<unsigned long long>(t.ours),
                    static_cast<unsigned long long>(t.valid), static_cast<unsigned long long>(t.wrong_dst),
                    static_cast<unsigned long long>(t.bad_checksum), static_cast<unsigned long long>(t.snat_src));
        for (size_t i = 0; i < t.per_endpoint.size(); ++i)
            std::printf("%s%llu", i ? ", " : "", static_cast<unsigned long long>(t.per_endpoint[i]));
        std::printf("], \"span_s\": %.6f, \"pps\": %.1f, \"ring_drops\": %u, ", span,
                    span > 0 ? (t.valid - 1) / span : 0.0, stats.tp_drops);
        std::printf("\"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f}\n", cpu1.first - cpu0.first, cpu1.second - cpu0.second);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pktsink: %s\n", e.what());
        return 1;
    }
}

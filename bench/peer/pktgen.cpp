// UDP load generator of the peer benchmark: pre-built 64-byte frames, one per flow (source port),
// handed to the kernel through an AF_PACKET TX ring that bypasses the qdisc, so one send() moves a
// whole batch and no packet is built or copied from a socket buffer per send. Open loop: it offers
// as much as the ring and its CPU allow (or --rate), whatever the path behind it manages.
//
//   pktgen --iface g0 --dst-mac M --src-ip A --dst-ip VIP --dst-port 53 --flows 1024
//          [--sport-base 10000] [--seconds 5] [--packets 0] [--rate 0] [--batch 256]
// Prints one JSON line: packets handed to the interface, seconds, packets per second, CPU seconds.
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sys/mman.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench/peer/peer_args.hpp"
#include "bench/peer/peer_packet.hpp"

using namespace nfgate::peer;

namespace {

constexpr unsigned kFrameSize = 256;  // room for the TPACKET2 header and one 60-byte frame
constexpr unsigned kBlockSize = 1 << 16;
constexpr unsigned kBlocks = 64;
constexpr unsigned kRingFrames = kBlockSize / kFrameSize * kBlocks;
// TX frames carry the packet right after the aligned header: the sockaddr_ll that RX frames
// have there is not part of a TX frame.
constexpr size_t kTxDataOffset = TPACKET2_HDRLEN - sizeof(sockaddr_ll);

struct TxRing {
    int fd = -1;
    uint8_t* base = nullptr;
    size_t bytes = 0;

    ~TxRing() {
        if (base) munmap(base, bytes);
        if (fd >= 0) close(fd);
    }
    tpacket2_hdr* frame(unsigned slot) const {
        return reinterpret_cast<tpacket2_hdr*>(base + static_cast<size_t>(slot) * kFrameSize);
    }
};

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

void open_ring(TxRing& ring, const std::string& ifname) {
    // Protocol 0: a TX-only socket, so the generator never receives a copy of anything.
    ring.fd = socket(AF_PACKET, SOCK_RAW, 0);
    check(ring.fd >= 0, "socket(AF_PACKET)");
    int version = TPACKET_V2;
    check(setsockopt(ring.fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) == 0, "PACKET_VERSION");
    int bypass = 1;
    check(setsockopt(ring.fd, SOL_PACKET, PACKET_QDISC_BYPASS, &bypass, sizeof bypass) == 0,
          "PACKET_QDISC_BYPASS");
    tpacket_req req{kBlockSize, kBlocks, kFrameSize, kRingFrames};
    check(setsockopt(ring.fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) == 0, "PACKET_TX_RING");
    ring.bytes = static_cast<size_t>(kBlockSize) * kBlocks;
    void* mem = mmap(nullptr, ring.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd, 0);
    check(mem != MAP_FAILED, "mmap of the TX ring");
    ring.base = static_cast<uint8_t*>(mem);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    check(addr.sll_ifindex != 0, "interface '" + ifname + "'");
    check(bind(ring.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind to " + ifname);
}

std::vector<Frame> build_flows(const Args& args, const Mac& src_mac) {
    const auto flows = static_cast<uint32_t>(args.num("flows", 1024));
    const auto sport_base = static_cast<uint32_t>(args.num("sport-base", 10000));
    if (flows == 0 || sport_base + flows > 65536)
        throw std::invalid_argument("--flows " + std::to_string(flows) + " from --sport-base " +
                                    std::to_string(sport_base) + ": source ports must stay in 1..65535");
    FlowSpec spec{src_mac, parse_mac(args.str("dst-mac")), parse_ipv4(args.str("src-ip")),
                  parse_ipv4(args.str("dst-ip")), 0, static_cast<uint16_t>(args.num("dst-port", 53)), 0};
    std::vector<Frame> frames;
    frames.reserve(flows);
    for (uint32_t i = 0; i < flows; ++i) {
        spec.src_port = static_cast<uint16_t>(sport_base + i);
        spec.flow_index = i;
        frames.push_back(build_udp_frame(spec));
    }
    return frames;
}

struct RunLimits {
    double seconds;
    uint64_t packets;  // 0: no limit
    double rate;  // packets per second, 0: as fast as the ring drains
    unsigned batch;
};

struct RunResult {
    uint64_t sent = 0;
    uint64_t send_errors = 0;
    double seconds = 0;
};

// Queues up to `want` frames into free slots; returns how many it queued.
unsigned queue_frames(TxRing& ring, const std::vector<Frame>& frames, unsigned& slot, size_t& flow,
                      unsigned want) {
    unsigned queued = 0;
    while (queued < want) {
        tpacket2_hdr* hdr = ring.frame(slot);
        const uint32_t status = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);
        if (status & TP_STATUS_WRONG_FORMAT)
            throw std::runtime_error("the kernel refused a frame of the TX ring (wrong format)");
        if (status != TP_STATUS_AVAILABLE) break;
        std::memcpy(reinterpret_cast<uint8_t*>(hdr) + kTxDataOffset, frames[flow].data(), kFrameLen);
        hdr->tp_len = kFrameLen;
        __atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        slot = (slot + 1) % kRingFrames;
        flow = (flow + 1) % frames.size();
        ++queued;
    }
    return queued;
}

RunResult run(TxRing& ring, const std::vector<Frame>& frames, const RunLimits& lim) {
    using clock = std::chrono::steady_clock;
    RunResult res;
    unsigned slot = 0;
    size_t flow = 0;
    const auto start = clock::now();
    const auto end = start + std::chrono::duration<double>(lim.seconds);
    uint64_t queued_total = 0;
    while (true) {
        const auto now = clock::now();
        if (now >= end || (lim.packets && queued_total >= lim.packets)) break;
        if (lim.rate > 0) {
            const auto due = start + std::chrono::duration<double>(static_cast<double>(queued_total) / lim.rate);
            if (due > now) std::this_thread::sleep_until(due);
        }
        unsigned want = lim.batch;
        if (lim.packets) want = static_cast<unsigned>(std::min<uint64_t>(want, lim.packets - queued_total));
        const unsigned queued = queue_frames(ring, frames, slot, flow, want);
        queued_total += queued;
        if (queued == 0) {
            // Every slot is in flight: a frame comes back only when its packet is freed, which
            // on veth is at the far end of the path. Wait for one instead of spinning.
            pollfd pfd{ring.fd, POLLOUT, 0};
            poll(&pfd, 1, 1);
            continue;
        }
        // Non-blocking kick: open loop, the generator never waits for the path to drain, so
        // what the gateway cannot take is dropped at its input and shows up as loss.
        if (send(ring.fd, nullptr, 0, MSG_DONTWAIT) < 0) {
            if (errno != ENOBUFS && errno != EAGAIN) check(false, "send on the TX ring");
            ++res.send_errors;
        }
    }
    // Frames still queued are sent now; wait (bounded) for every frame to come back. The run's
    // time includes this tail: a frame counts as sent only once it is back.
    const auto drain_end = clock::now() + std::chrono::seconds(2);
    while (clock::now() < drain_end) {
        send(ring.fd, nullptr, 0, MSG_DONTWAIT);
        bool all_back = true;
        for (unsigned s = 0; s < kRingFrames && all_back; ++s)
            all_back = __atomic_load_n(&ring.frame(s)->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_AVAILABLE;
        if (all_back) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    res.seconds = std::chrono::duration<double>(clock::now() - start).count();
    uint64_t pending = 0;
    for (unsigned s = 0; s < kRingFrames; ++s)
        if (__atomic_load_n(&ring.frame(s)->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) ++pending;
    res.sent = queued_total - pending;
    return res;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Args args(argc, argv);
        const std::string ifname = args.str("iface");
        TxRing ring;
        open_ring(ring, ifname);
        const std::vector<Frame> frames = build_flows(args, interface_mac(ring.fd, ifname));
        const RunLimits lim{args.num("seconds", 5), static_cast<uint64_t>(args.num("packets", 0)),
                            args.num("rate", 0), static_cast<unsigned>(args.num("batch", 256))};
        const auto cpu0 = cpu_seconds();
        const RunResult r = run(ring, frames, lim);
        const auto cpu1 = cpu_seconds();
        std::printf("{\"sent\": %llu, \"seconds\": %.6f, \"pps\": %.1f, \"flows\": %zu, \"send_errors\": %llu, "
                    "\"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f}\n",
                    static_cast<unsigned long long>(r.sent), r.seconds, r.sent / r.seconds, frames.size(),
                    static_cast<unsigned long long>(r.send_errors), cpu1.first - cpu0.first,
                    cpu1.second - cpu0.second);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pktgen: %s\n", e.what());
        return 1;
    }
}

// The memif generator: one lcore, two net_memif ports. Port A is the outside (clients behind a
// router), port B the pods. What the generator does per mode is in memif_traffic.cpp; EAL and
// the ports in memif_ports.cpp; options and the report in memif_gen.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <rte_mbuf.h>

#include "bench/memif/memif_frames.hpp"

namespace nfgate::memif {

enum class Mode { udp, tcp, conn };

struct Options {
    Mode mode = Mode::udp;
    uint32_t flows = 1024;
    double seconds = 3;
    double warmup_timeout = 60;   // seconds the warm-up may take at most
    double link_timeout = 15;     // seconds to wait for both memif links
    uint32_t window = 512;        // warm-up / connection frames in flight at most
    uint32_t max_conns = 0;       // conn mode: end the window after opening this many (0: no cap)
    std::string port_a = "net_memif0", port_b = "net_memif1";
    Mac mac_a{}, mac_b{}, gw_mac_a{}, gw_mac_b{};
    uint32_t gw_ip_a = 0, gw_ip_b = 0;  // host order: the gateway's own addresses (not answered)
    Endpoints ends;
    std::string json_path;        // "" : the report goes to stdout only
};

// One direction's figures at an instant; differences of two give a window's rates.
struct Counters {
    uint64_t tx = 0;           // frames the client side's port accepted
    uint64_t tx_refused = 0;   // refused: the ring to the gateway was full (the gateway is behind)
    uint64_t good = 0;         // data frames on the pods' side that passed every check
    uint64_t bad = 0;          // frames on the pods' side that failed a check
    uint64_t syn_seen = 0;     // SYNs the gateway forwarded to a pod (checked)
    uint64_t syn_acks = 0;     // SYN-ACKs the pods sent
    uint64_t client_acks = 0;  // handshakes the clients completed (ACK sent)
    uint64_t established = 0; // completing ACKs that reached a pod (checked): connections done
    uint64_t rst_seen = 0;     // client RSTs that reached a pod (checked)
    uint64_t arp_answered = 0;
    uint64_t other = 0;        // anything else (gratuitous ARP, ...)
};

struct Sample {
    double t = 0;  // seconds into the measurement
    Counters c;
};

struct Phase {
    std::string name;
    double seconds = 0;
    Counters start, end;
    std::vector<Sample> samples;  // one per second
};

class Generator {
public:
    Generator(const Options& o, uint16_t port_a, uint16_t port_b, rte_mempool* pool);
    // Creates every flow (UDP: each flow's first packets; TCP: the handshakes) with at most
    // `window` in flight; returns the phase with its figures.
    Phase warm_up();
    // Open-loop data traffic (udp, tcp) or back-to-back connections (conn) for `seconds`.
    Phase measure();
    // Stops sending and keeps receiving for `ms` so frames in flight are counted.
    void drain(double ms);
    const Counters& counters() const { return c_; }
    uint32_t tcp_flows_open() const { return opened_; }
    const std::vector<std::pair<const char*, uint64_t>>& bad_reasons() const { return bad_why_; }

private:
    void poll_clients();
    void poll_pods();
    void send_data_burst();
    uint32_t send_open_burst(uint32_t& next, uint32_t limit, uint32_t budget, bool skip_open);
    bool is_open(uint32_t flow) const;
    void mark_open(const uint8_t* syn_ack);
    uint32_t next_flow();
    void note_bad(const char* why);
    void flush(uint16_t port, rte_mbuf** pkts, uint16_t n);
    template <class Done>
    double windowed(uint32_t count, bool skip_open, Done done);

    Options o_;
    uint16_t a_, b_;
    rte_mempool* pool_;
    Template data_, syn_;
    Counters c_;
    std::vector<std::pair<const char*, uint64_t>> bad_why_;
    uint32_t cursor_ = 0, stride_ = 1;
    std::vector<uint64_t> open_;  // TCP: one bit per flow whose handshake the client completed
    uint32_t opened_ = 0;
    uint64_t hz_;
};

// EAL ports (memif_ports.cpp).
bool open_port(const std::string& name, rte_mempool* pool, uint16_t& port, std::string& err);
bool wait_link_up(uint16_t port, double seconds);
void close_port(uint16_t port);

}  // namespace nfgate::memif

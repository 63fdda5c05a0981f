#include "dataplane/fast_path.hpp"

#include <vector>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "dataplane/port/eal_setup.hpp"
#include "dataplane/port/port_setup.hpp"

namespace nfgate::dp {

namespace {

constexpr unsigned kBurst = 32;
constexpr unsigned kPoolCache = 256;

class DpdkFastPath final : public FastPath {
public:
    ~DpdkFastPath() override { stop(); }

    bool bring_up(const Model& m, std::string& err) {
        model_ = m;
        if (!pick_worker_lcores(m.workers, worker_lcores_, err)) return false;
        PortSizing sizing;
        sizing.queues = static_cast<uint16_t>(m.workers);
        uint32_t mbufs = pool_size_for(static_cast<unsigned>(m.interfaces.size()), sizing,
                                       rte_lcore_count(), kBurst, kPoolCache);
        pool_ = create_packet_pool(mbufs, kPoolCache, err);
        if (pool_ == nullptr) return false;
        for (size_t i = 0; i < m.interfaces.size(); ++i) {
            std::string field = "interfaces[" + std::to_string(i) + "] (" + m.interfaces[i].name + ").device";
            uint16_t port = 0;
            if (!probe_port(m.interfaces[i].device, field, port, err)) return false;
            rte_ether_addr mac{};
            if (!start_port(port, sizing, pool_, field, mac, err)) return false;
            ports_.push_back(port);
            macs_.push_back(mac);
        }
        return true;
    }

    bool update(const Model&, std::string& err) override {
        err = "fast path: update is not available yet";
        return false;
    }

    void stop() override {
        if (stopped_) return;
        stopped_ = true;
        for (uint16_t p : ports_) close_port(p);
        ports_.clear();
        if (pool_ != nullptr) rte_mempool_free(pool_);
        pool_ = nullptr;
        rte_eal_cleanup();
    }

    std::string stats_text() const override {
        std::string out;
        for (uint16_t p : ports_) {
            rte_eth_stats st{};
            rte_eth_stats_get(p, &st);
            out += "port" + std::to_string(p) + "_rx_packets " + std::to_string(st.ipackets) + "\n";
            out += "port" + std::to_string(p) + "_tx_packets " + std::to_string(st.opackets) + "\n";
        }
        return out;
    }

private:
    Model model_;
    std::vector<unsigned> worker_lcores_;
    std::vector<uint16_t> ports_;
    std::vector<rte_ether_addr> macs_;
    rte_mempool* pool_ = nullptr;
    bool stopped_ = false;
};

}  // namespace

std::unique_ptr<FastPath> FastPath::start(const Model& m, std::string& err) {
    if (!init_eal(m.eal_args, err)) return nullptr;
    auto fp = std::make_unique<DpdkFastPath>();
    if (!fp->bring_up(m, err)) return nullptr;
    return fp;
}

}  // namespace nfgate::dp

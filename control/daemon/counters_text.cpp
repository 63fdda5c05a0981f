#include "control/daemon/counters_text.hpp"

#include <string_view>

namespace nfgate::daemon {

std::string counters_text(const fastpath::Counters& c) {
    std::string out;
    auto line = [&out](std::string_view prefix, std::string_view name, uint64_t v) {
        out.append(prefix).append(name).append(" ").append(std::to_string(v)).append("\n");
    };
    const fastpath::WorkerCounters all = c.total();
    line("", "rx_packets", all.rx_packets);
    line("", "tx_packets", all.tx_packets);
    line("", "forwarded_nat", all.forwarded_nat);
    line("", "forwarded_plain", all.forwarded_plain);
    line("", "flows_created", all.flows_created);
    line("", "flows_in_use", c.flows_in_use);
    for (size_t r = 0; r < engine::kReasonCount; ++r) line("reason.", engine::kReasonNames[r], all.reasons[r]);
    for (const fastpath::PortCounters& p : c.ports) {
        const std::string prefix = "port." + p.name + ".";
        line(prefix, "rx_packets", p.rx_packets);
        line(prefix, "tx_packets", p.tx_packets);
        line(prefix, "tx_ring_full", p.tx_ring_full);
    }
    for (size_t w = 0; w < c.workers.size(); ++w)
        line("worker" + std::to_string(w) + ".", "rx_packets", c.workers[w].rx_packets);
    return out;
}

}  // namespace nfgate::daemon

#include "tests/engine/engine_lab.hpp"

#include <gtest/gtest.h>

namespace nfgate::test {

Lab::Lab(const Model& m, LabOptions opt) : model(m) {
    engine::EngineConfig cfg = engine::EngineConfig::from_model(m);
    cfg.max_flows = opt.max_flows;
    cfg.workers = opt.workers;
    cfg.snat_port_min = opt.snat_port_min;
    cfg.snat_port_max = opt.snat_port_max;
    std::string err;
    shared = engine::EngineShared::create(cfg, err);
    if (!shared) ADD_FAILURE() << "EngineShared::create: " << err;
    worker_ = std::make_unique<engine::WorkerContext>(*shared, 0);
    update(m);
    learn_neighbours();
}

void Lab::update(const Model& m) {
    model = m;
    const rte_ether_addr macs[] = {kExtMac, kPodsMac};
    std::string err;
    st = engine::build_service_table(m, std::span<const rte_ether_addr>(macs, m.interfaces.size()), err);
    if (!st) ADD_FAILURE() << "build_service_table: " << err;
}

void Lab::learn_neighbours() {
    learn_lab_neighbours(shared->neighbours(), model, static_cast<uint32_t>(now_ns_ / 1'000'000'000));
}

void Lab::send(uint16_t port, const std::vector<std::vector<uint8_t>>& frames, engine::WorkerContext* on) {
    engine::WorkerContext& w = on != nullptr ? *on : *worker_;
    io.clear();
    std::vector<rte_mbuf*> mbufs;
    for (const auto& f : frames) {
        rte_mbuf* mb = to_mbuf(test_pool(), f);
        if (mb == nullptr) {
            ADD_FAILURE() << "mbuf pool exhausted";
            return;
        }
        mbufs.push_back(mb);
    }
    engine::process_burst(w, *st, io, port, std::span<rte_mbuf*>(mbufs), now_ns_);
    engine::worker_quiescent(w);
}

void Lab::tick() {
    io.clear();
    engine::worker_tick(*worker_, *st, io, now_ns_, test_pool());
}

Out Lab::only_output(uint16_t expect_port) {
    if (io.sent.size() != 1) {
        ADD_FAILURE() << "expected exactly one transmitted frame, got " << io.sent.size() << " (dropped "
                      << io.dropped << ")";
        return Out{};
    }
    EXPECT_EQ(io.sent[0].port, expect_port);
    return parse_out(io.sent[0].m);
}

void Lab::age_all() {
    for (int round = 0; round < 4; ++round) {
        engine::worker_quiescent(*worker_);
        engine::worker_housekeeping(*worker_, now_ns_, shared->flows().capacity());
    }
}

}  // namespace nfgate::test

// Perf mode of the packet fixtures: every scenario of tests/engine/fixtures.cpp replayed
// against one lab per fixture. After the first round the flows exist, so stateful scenarios
// measure their established path; stateless ones (ARP, rejects, ICMP answers) their answer.
// Time is per packet and includes building the frame into an mbuf.
#include "bench/engine/bench_fixtures.hpp"

#include <benchmark/benchmark.h>

#include "tests/engine/fixtures.hpp"

namespace nfgate::bench {

void register_fixture_benchmarks() {
    static const std::vector<test::Fixture> all = test::fixtures();
    for (const test::Fixture& fx : all) {
        benchmark::RegisterBenchmark(("BM_Fixture/" + std::string(fx.name)).c_str(), [&fx](benchmark::State& state) {
            test::Lab lab;
            uint64_t packets = 0;
            for (auto _ : state) {
                test::Out prev;
                for (const test::Step& s : fx.steps) {
                    lab.send(s.in_port, s.input(prev));
                    if (lab.io.sent.size() == 1) prev = test::parse_out(lab.io.sent[0].m);
                    ++packets;
                }
            }
            state.SetItemsProcessed(static_cast<int64_t>(packets));
        });
    }
}

}  // namespace nfgate::bench

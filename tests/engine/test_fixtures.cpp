// Runs every packet fixture through the real process_burst and asserts its verdict and output.
#include <gtest/gtest.h>

#include "tests/engine/fixtures.hpp"

namespace nfgate::test {

void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

namespace {

class EngineFixture : public testing::TestWithParam<Fixture> {};

TEST_P(EngineFixture, Runs) {
    const Fixture& fx = GetParam();
    Lab lab;
    Out prev;
    for (size_t i = 0; i < fx.steps.size(); ++i) {
        SCOPED_TRACE("step " + std::to_string(i));
        const Step& s = fx.steps[i];
        uint64_t before = s.reason ? lab.reason(*s.reason) : 0;
        lab.send(s.in_port, s.input(prev));
        if (s.reason) {
            EXPECT_EQ(lab.reason(*s.reason), before + 1) << engine::reason_name(*s.reason);
        }
        if (!s.out_port) {
            EXPECT_TRUE(lab.io.sent.empty());
            EXPECT_EQ(lab.io.dropped, 1u);
            continue;
        }
        prev = lab.only_output(*s.out_port);
        if (s.check) s.check(prev);
    }
}

INSTANTIATE_TEST_SUITE_P(Packets, EngineFixture, testing::ValuesIn(fixtures()),
                         [](const testing::TestParamInfo<Fixture>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace nfgate::test

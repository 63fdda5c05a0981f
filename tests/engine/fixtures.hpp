// The packet fixtures: {name, steps of (input frame, expected verdict, expected output)}. A
// step's input may be built from the previous step's output (a reply to whatever backend and
// SNAT port the gateway chose). test_fixtures.cpp asserts them; bench_engine replays them.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {

struct Step {
    uint16_t in_port;
    std::function<std::vector<uint8_t>(const Out& prev)> input;
    std::optional<uint16_t> out_port;       // nullopt: nothing transmitted
    std::optional<engine::Reason> reason;   // counted once by this step
    std::function<void(const Out&)> check;  // on the transmitted frame
};

struct Fixture {
    const char* name;
    std::vector<Step> steps;
};

// Every fixture; the checks use GoogleTest assertions.
std::vector<Fixture> fixtures();

}  // namespace nfgate::test

// Registers one benchmark per packet fixture (the scenarios the unit tests assert).
#pragma once

namespace nfgate::bench {

void register_fixture_benchmarks();

}  // namespace nfgate::bench

// Small Models built in code, shared by the golden, plan and kernel tests of the kernel path.
#pragma once

#include <string>
#include <vector>

#include "model/model.hpp"

namespace nfgate::nft::testing {

uint32_t ip(const char* s);
Cidr cidr(const char* s);
Endpoint ep(const char* addr, uint16_t port, bool ready = true);

struct Fixture {
    std::string name;  // also the golden file name: tests/nft/golden/<name>.nft
    Model model;
};

// The gateway settings every fixture shares: one node address, one pod CIDR, one service CIDR.
Model base_model();

// web (ClusterIP + NodePort, 3 endpoints), dns (UDP+TCP, 1 endpoint)
Model two_services();
// Every feature: affinity, LB with source ranges, externalIPs, Local policy, no endpoints, not-ready.
Model all_features();

std::vector<Fixture> golden_fixtures();

}  // namespace nfgate::nft::testing

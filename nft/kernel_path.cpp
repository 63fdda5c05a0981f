#include "nft/kernel_path.hpp"

namespace nfgate::nft {

struct KernelPath::State {};

KernelPath::KernelPath() : state_(std::make_unique<State>()) {}
KernelPath::~KernelPath() = default;

bool KernelPath::apply(const Model&, std::string& err) {
    err = "kernel path: not available in this build";
    return false;
}

bool KernelPath::cleanup(std::string& err) {
    err.clear();
    return true;
}

}  // namespace nfgate::nft

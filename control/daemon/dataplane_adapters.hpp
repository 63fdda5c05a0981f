// The kernel path (nft::KernelPath) and the fast path (fastpath::FastPath) behind the Dataplane interface.
#pragma once

#include <memory>

#include "control/daemon/dataplane.hpp"

namespace nfgate::daemon {

std::unique_ptr<Dataplane> make_dataplane(DataplaneKind kind);

}  // namespace nfgate::daemon

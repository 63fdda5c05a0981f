// Which model changes a running fast path cannot take without a restart.
#pragma once

#include <string>

#include "model/model.hpp"

namespace nfgate::port {

// "" when `next` can be applied to a fast path running `running`; otherwise a message naming
// the field that changed and why it needs a restart.
std::string restart_reason(const Model& running, const Model& next);

}  // namespace nfgate::port

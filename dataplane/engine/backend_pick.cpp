#include "dataplane/engine/backend_pick.hpp"

#include <vector>

#include "dataplane/lb/maglev.hpp"

namespace nfgate::engine {

bool build_backend_picker(ServicePortEntry& e, std::string& err) {
    e.maglev = lb::Maglev();
    if (e.backends.empty()) return true;
    if (e.backends.size() > lb::Maglev::kMaxBackends) {
        err = std::to_string(e.backends.size()) + " ready endpoints; at most " +
              std::to_string(lb::Maglev::kMaxBackends) + " per service port are supported";
        return false;
    }
    std::vector<lb::MaglevBackend> ids;
    ids.reserve(e.backends.size());
    for (const Backend& b : e.backends) ids.push_back(lb::MaglevBackend{b.ip, b.port});
    e.maglev = lb::Maglev::build(ids);
    if (e.maglev.empty()) {
        err = "Maglev table could not be built for " + std::to_string(e.backends.size()) + " endpoints";
        return false;
    }
    return true;
}

}  // namespace nfgate::engine

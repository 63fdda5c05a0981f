// One finding about the configuration: what the loader reports and every reader shares.
#pragma once

#include <string>

namespace nfgate::loader {

// One finding about the configuration, pointing at where it was found.
struct Diag {
    std::string file;
    int line = 0;
    std::string object;  // "Service ns/name", "EndpointSlice ns/name", or a gateway file section
    std::string field;   // "spec.ports[1].nodePort"
    std::string message;
    // "file:line: object: field: message"; empty parts (and their separator) are left out.
    std::string str() const;
};

}  // namespace nfgate::loader

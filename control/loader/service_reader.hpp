// One v1 Service object -> ServiceSource, with every field checked on its own.
#pragma once

#include "control/loader/manifest_objects.hpp"

namespace nfgate::loader {

// Checks that need other objects (duplicate VIPs and nodePorts, named targetPorts) happen
// later, in service_assembly. `gateway` supplies nodePortRange and serviceCIDRs.
void read_service(Reporter& r, YNode obj, const Model& gateway, std::vector<ServiceSource>& out);

// Kubernetes' IANA_SVC_NAME: 1-15 of [a-z0-9-], at least one letter, no leading, trailing or
// doubled '-'.
bool is_port_name(std::string_view s);

// "TCP" / "UDP" / "SCTP"; absent means TCP as in the Kubernetes API.
bool read_protocol(Reporter& r, YNode n, const FieldPath& f, Proto& out);
const char* protocol_api_name(Proto p);

}  // namespace nfgate::loader

// Joins Services with their EndpointSlices and runs the checks that span objects.
#pragma once

#include "control/loader/field_reader.hpp"
#include "control/loader/manifest_objects.hpp"

namespace nfgate::loader {

// Resolves every ServicePort's endpoints (slice port of the same name and protocol), then
// reports duplicate Services/EndpointSlices, VIP:port/protocol claimed twice, nodePort/protocol
// used twice and named targetPorts no slice resolves. Fills m.services sorted by (ns, name).
void assemble_services(ManifestObjects& objects, std::vector<Diag>& errors, std::vector<Diag>& notices,
                       Model& m);

// The pieces of assemble_services, for a caller that keeps an assembled set and re-resolves
// only the Services a change touched (the cluster follower): the same checks, the same reports.
//
// Joins one Service's ports with the slices that name it (in the order given).
void resolve_service(ServiceSource& src, const std::vector<const SliceSource*>& slices, Reporter& r);
// VIP:port/protocol claimed twice (a node address counting as a VIP of every nodePort) and
// nodePort/protocol used twice, among `services`.
void check_claims(const std::vector<ServiceSource>& services, const Model& gateway, Reporter& r);
// A frontend as the claim checks compare it: address, port, protocol. IPv4 addresses are kept
// IPv4-mapped (::ffff:a.b.c.d), so one key and one check serve both families.
struct FrontendKey {
    Ip6 addr;
    uint16_t port = 0;
    Proto proto = Proto::tcp;
    bool operator==(const FrontendKey&) const = default;
    auto operator<=>(const FrontendKey&) const = default;
};
struct FrontendKeyHash {
    size_t operator()(const FrontendKey& k) const;
};
// What one Service claims, in the keys check_claims compares: two Services clash exactly when
// their frontends or their nodePorts intersect. Sorted, without repeats.
struct Claims {
    std::vector<FrontendKey> frontends;  // VIP or node address : port / protocol
    std::vector<uint32_t> node_ports;  // nodePort / protocol
    bool operator==(const Claims&) const = default;
};
Claims claims_of(const Service& svc, const Model& gateway);

}  // namespace nfgate::loader

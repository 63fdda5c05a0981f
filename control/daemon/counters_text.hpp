// The fast path's counters as the "name value" lines nfgate prints on SIGUSR1 and at stop: the
// one place that names them as text. Scripts and the README rely on these names
// (`reason.flow_table_full`, `port.<interface>.tx_ring_full`): extend, never rename.
#pragma once

#include <string>

#include "dataplane/counters.hpp"

namespace nfgate::daemon {

// rx_packets, tx_packets, forwarded_nat, forwarded_plain, flows_created, flows_in_use (all
// workers summed), reason.<name> per engine reason, port.<interface>.{rx_packets,tx_packets,
// tx_ring_full}, worker<i>.rx_packets; one per line.
std::string counters_text(const fastpath::Counters& c);

}  // namespace nfgate::daemon

#include "dataplane/engine/worker.hpp"

namespace nfgate::engine {

unsigned worker_housekeeping(WorkerContext& ctx, uint64_t now_ns, unsigned budget) {
    const uint32_t now_s = static_cast<uint32_t>(now_ns / 1'000'000'000);
    unsigned n = ctx.flows.age(ctx.id, now_s, budget);
    if (ct::ConntrackTable6* t6 = ctx.shared.flows6()) n += t6->age(ctx.id, now_s, budget);
    return n;
}

void worker_quiescent(WorkerContext& ctx) { ctx.flows.quiescent(ctx.id); }

}  // namespace nfgate::engine

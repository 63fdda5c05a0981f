#include "dataplane/engine/worker.hpp"

namespace nfgate::engine {

unsigned worker_housekeeping(WorkerContext& ctx, uint64_t now_ns, unsigned budget) {
    return ctx.flows.age(ctx.id, static_cast<uint32_t>(now_ns / 1'000'000'000), budget);
}

void worker_quiescent(WorkerContext& ctx) { ctx.flows.quiescent(ctx.id); }

}  // namespace nfgate::engine

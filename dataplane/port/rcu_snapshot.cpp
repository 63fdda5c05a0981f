#include "dataplane/port/rcu_snapshot.hpp"

#include <rte_errno.h>
#include <rte_malloc.h>

namespace nfgate::port {

QsbrDomain::~QsbrDomain() { rte_free(qsv_); }

bool QsbrDomain::init(unsigned max_readers, std::string& err) {
    size_t size = rte_rcu_qsbr_get_memsize(max_readers);
    qsv_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("nfgate_qsbr", size, RTE_CACHE_LINE_SIZE));
    if (qsv_ == nullptr || rte_rcu_qsbr_init(qsv_, max_readers) != 0) {
        err = std::string("fast path: cannot set up the RCU state for ") +
              std::to_string(max_readers) + " workers: " + rte_strerror(rte_errno);
        return false;
    }
    return true;
}

void rcu_synchronize(rte_rcu_qsbr* qsv) { rte_rcu_qsbr_synchronize(qsv, RTE_QSBR_THRID_INVALID); }

}  // namespace nfgate::port

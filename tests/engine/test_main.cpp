// Test main: brings up EAL without hugepages or devices so mbufs come from a real pktmbuf pool.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <cstdio>

#include "tests/engine/engine_lab.hpp"
#include "dataplane/port/eal_teardown.hpp"

namespace {
rte_mempool* g_pool = nullptr;
}

rte_mempool* nfgate::test::test_pool() { return g_pool; }

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    char prog[] = "test_engine";
    char a1[] = "--no-huge";
    char a2[] = "-m";
    char a3[] = "256";
    char a4[] = "--no-pci";
    char a5[] = "--log-level=error";
    char a6[] = "--file-prefix=nfgate_test_engine";
    char* eal_argv[] = {prog, a1, a2, a3, a4, a5, a6};
    if (rte_eal_init(7, eal_argv) < 0) {
        std::fprintf(stderr, "test_engine: rte_eal_init failed (needs --no-huge support)\n");
        return 1;
    }
    g_pool = rte_pktmbuf_pool_create("engine_test", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g_pool == nullptr) {
        std::fprintf(stderr, "test_engine: mbuf pool creation failed\n");
        return 1;
    }
    int rc = RUN_ALL_TESTS();
    nfgate::port::eal_cleanup_and_remove_runtime_dir();
    return rc;
}

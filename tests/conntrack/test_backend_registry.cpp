// Backend liveness ids: stable while present, dead at once when retired, never reused as-is.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/conntrack/backend_registry.hpp"

namespace nfgate::ct {
namespace {

TEST(BackendRegistry, KeepsIdsOfEndpointsThatStayAndRetiresTheOthers) {
    BackendRegistry r(8);
    const BackendKey a{1, 80, 6}, b{2, 80, 6}, c{3, 80, 6};
    ASSERT_TRUE(r.update(std::vector{a, b}));
    const uint32_t ida = r.id_of(a), idb = r.id_of(b);
    EXPECT_NE(ida, 0u);
    EXPECT_NE(ida, idb);
    EXPECT_TRUE(r.alive(ida));
    ASSERT_TRUE(r.update(std::vector{a, c}));
    EXPECT_EQ(r.id_of(a), ida);
    EXPECT_TRUE(r.alive(ida));
    EXPECT_FALSE(r.alive(idb));
    EXPECT_EQ(r.id_of(b), 0u);
    ASSERT_TRUE(r.update(std::vector{a, b, c}));
    EXPECT_NE(r.id_of(b), idb) << "a returning endpoint does not revive old flows";
    EXPECT_FALSE(r.alive(idb));
    EXPECT_TRUE(r.alive(0)) << "no backend: always alive";
}

TEST(BackendRegistry, RefusesMoreThanItsCapacityAndChangesNothing) {
    BackendRegistry r(2);
    const BackendKey a{1, 1, 17}, b{2, 1, 17}, c{3, 1, 17};
    ASSERT_TRUE(r.update(std::vector{a}));
    const uint32_t ida = r.id_of(a);
    EXPECT_FALSE(r.update(std::vector{a, b, c}));
    EXPECT_EQ(r.id_of(a), ida);
    EXPECT_EQ(r.live_count(), 1u);
    EXPECT_TRUE(r.update(std::vector{b, c})) << "retired slots are reusable in the same update";
    EXPECT_FALSE(r.alive(ida));
}

}  // namespace
}  // namespace nfgate::ct

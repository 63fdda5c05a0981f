// Listing the flow table from a non-worker thread (conntrack_walk.hpp): linked flows only, each
// once, with its keys, state and timeout; the visitor can stop the walk.
#include <gtest/gtest.h>

#include <set>

#include "dataplane/conntrack/conntrack_walk.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

template <class T>
class FlowWalkTest : public ::testing::Test {};
TYPED_TEST_SUITE(FlowWalkTest, test::Families, test::FamilyName);

TYPED_TEST(FlowWalkTest, ListsLinkedFlowsOnceWithTheirState) {
    using Key = typename TypeParam::Key;
    auto t = test::make_table<TypeParam>(256);
    ASSERT_NE(t, nullptr);
    for (uint32_t n = 1; n <= 5; ++n) {
        const auto f = test::dnat_flow<Key>(n);
        typename TypeParam::Init in;
        in.orig = f.orig;
        in.reply = f.reply;
        in.tcp_flags = net::kTcpSyn;
        in.tag = n;
        ASSERT_EQ(t->insert(0, in, 100 + n).status, InsertStatus::inserted);
    }
    const auto gone = t->lookup(test::dnat_flow<Key>(3).orig);
    ASSERT_TRUE(gone);
    ASSERT_TRUE(t->unlink(*gone.entry));

    std::set<uint32_t> tags;
    unsigned seen = 0;
    walk_flows(*t, [&](const BasicFlowSnapshot<Key>& s) {
        ++seen;
        tags.insert(s.tag);
        const auto f = test::dnat_flow<Key>(s.tag);
        EXPECT_EQ(s.key[0], f.orig);
        EXPECT_EQ(s.key[1], f.reply);
        EXPECT_EQ(s.state, static_cast<uint8_t>(TcpState::syn_sent));
        EXPECT_EQ(s.created, 100 + s.tag);
        EXPECT_EQ(s.timeout, t->timeouts().tcp[static_cast<unsigned>(TcpState::syn_sent)]);
        return true;
    });
    EXPECT_EQ(seen, 4u) << "each linked flow once (two keys, one entry), the unlinked one left out";
    EXPECT_EQ(tags, (std::set<uint32_t>{1, 2, 4, 5}));

    unsigned visited = 0;
    walk_flows(*t, [&](const BasicFlowSnapshot<Key>&) { return ++visited < 2; });
    EXPECT_EQ(visited, 2u) << "the visitor stops the walk";
}

}  // namespace
}  // namespace nfgate::ct

// Single-threaded behaviour of the flow table, for both families: both keys, duplicates,
// clashes, full table, bulk lookup; and each family's checksum deltas.
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

using test::dnat_flow;
using test::ip;
using test::ip6;
using test::key;

template <class T>
class FlowTableTest : public ::testing::Test {
protected:
    using Key = typename T::Key;
    using Init = typename T::Init;
    using F = test::Family<Key>;

    static std::unique_ptr<T> make(uint32_t max_flows, unsigned workers = 1) {
        return test::make_table<T>(max_flows, workers);
    }
    static test::DnatFlowOf<Key> flow(uint32_t n, uint8_t proto = net::kProtoTcp, uint8_t backend = 5) {
        return dnat_flow<Key>(n, proto, backend);
    }
    static Init init_of(const test::DnatFlowOf<Key>& f, uint8_t tcp_flags = net::kTcpSyn) {
        Init in;
        in.orig = f.orig;
        in.reply = f.reply;
        in.tcp_flags = tcp_flags;
        return in;
    }
};
TYPED_TEST_SUITE(FlowTableTest, test::Families, test::FamilyName);

TYPED_TEST(FlowTableTest, FindsOneEntryUnderBothKeys) {
    auto t = this->make(1024);
    const auto f = this->flow(7);
    const auto r = t->insert(0, this->init_of(f), 100);
    ASSERT_EQ(r.status, InsertStatus::inserted);

    const auto o = t->lookup(f.orig);
    const auto p = t->lookup(f.reply);
    ASSERT_TRUE(o);
    ASSERT_TRUE(p);
    EXPECT_EQ(o.entry, r.entry);
    EXPECT_EQ(p.entry, r.entry);
    EXPECT_EQ(o.dir, Dir::orig);
    EXPECT_EQ(p.dir, Dir::reply);
    // The original packet leaves towards the backend, the reply leaves from the VIP.
    EXPECT_EQ(r.entry->translated(Dir::orig), f.reply.reversed());
    EXPECT_EQ(r.entry->translated(Dir::reply), f.orig.reversed());
    EXPECT_EQ(r.entry->tcp_state(), TcpState::syn_sent);
    EXPECT_FALSE(t->lookup(this->flow(8).orig));
    EXPECT_FALSE(t->lookup(f.orig.reversed()));
}

TYPED_TEST(FlowTableTest, SecondInsertOfSameKeyReturnsTheFirstFlow) {
    auto t = this->make(1024);
    const auto f = this->flow(1);
    const auto a = t->insert(0, this->init_of(f), 1);
    const auto other_backend = this->flow(1, net::kProtoTcp, 6);
    const auto b = t->insert(0, this->init_of(other_backend), 2);
    ASSERT_EQ(a.status, InsertStatus::inserted);
    ASSERT_EQ(b.status, InsertStatus::exists);
    EXPECT_EQ(b.entry, a.entry);
    EXPECT_FALSE(t->lookup(other_backend.reply)) << "the loser's reply key must not be linked";
    EXPECT_EQ(t->stats().exists, 1u);
}

TYPED_TEST(FlowTableTest, ReplyKeyOfAnotherFlowIsAClash) {
    auto t = this->make(1024);
    const auto f = this->flow(1);
    ASSERT_EQ(t->insert(0, this->init_of(f), 1).status, InsertStatus::inserted);
    auto second = this->init_of(this->flow(2));
    second.reply = f.reply;
    EXPECT_EQ(t->insert(0, second, 1).status, InsertStatus::clash);
    EXPECT_FALSE(t->lookup(second.orig)) << "a clashing flow leaves nothing linked";
    EXPECT_EQ(t->lookup(f.reply).entry, t->lookup(f.orig).entry);
    EXPECT_EQ(t->stats().clash, 1u);
}

TYPED_TEST(FlowTableTest, RefusesTcpThatCannotOpenAndSelfReplies) {
    auto t = this->make(64);
    const auto f = this->flow(3);
    EXPECT_EQ(t->insert(0, this->init_of(f, net::kTcpSyn | net::kTcpAck), 1).status, InsertStatus::invalid);
    EXPECT_EQ(t->insert(0, this->init_of(f, net::kTcpRst), 1).status, InsertStatus::invalid);
    auto same = this->init_of(f);
    same.reply = same.orig;
    EXPECT_EQ(t->insert(0, same, 1).status, InsertStatus::invalid);
    EXPECT_EQ(t->insert(0, this->init_of(f, net::kTcpAck), 1).status, InsertStatus::inserted)
        << "mid-stream pickup, like nf_conntrack_tcp_loose";
    EXPECT_EQ(t->lookup(f.orig).entry->tcp_state(), TcpState::established);
}

TYPED_TEST(FlowTableTest, FullTableRefusesNewFlowsAndKeepsOldOnes) {
    constexpr uint32_t kMax = 256;
    auto t = this->make(kMax);
    uint32_t inserted = 0;
    for (uint32_t i = 0; i < kMax; i++) {
        const auto r = t->insert(0, this->init_of(this->flow(i)), 1);
        if (r.status != InsertStatus::inserted) continue;
        ++inserted;
        // Established: a full table keeps these (it gives up only half-open flows).
        TypeParam::track(*r.entry, Dir::reply, net::kTcpSyn | net::kTcpAck, 1);
        TypeParam::track(*r.entry, Dir::orig, net::kTcpAck, 1);
    }
    ASSERT_EQ(inserted, kMax);
    EXPECT_EQ(t->insert(0, this->init_of(this->flow(kMax)), 1).status, InsertStatus::full);
    EXPECT_EQ(t->stats().full_entries, 1u);
    EXPECT_EQ(t->stats().live, kMax);
    for (uint32_t i = 0; i < kMax; i++) {
        const auto f = this->flow(i);
        ASSERT_TRUE(t->lookup(f.orig)) << i;
        ASSERT_TRUE(t->lookup(f.reply)) << i;
    }
    EXPECT_FALSE(t->lookup(this->flow(kMax).orig));
}

TYPED_TEST(FlowTableTest, BulkLookupAgreesWithSingleLookup) {
    auto t = this->make(4096);
    for (uint32_t i = 0; i < 3000; i += 2)
        ASSERT_EQ(t->insert(0, this->init_of(this->flow(i)), 1).status, InsertStatus::inserted);
    std::vector<typename TypeParam::Key> keys;
    for (uint32_t i = 0; i < 3000; i++) keys.push_back(i % 3 == 0 ? this->flow(i).reply : this->flow(i).orig);
    for (size_t off = 0; off < keys.size(); off += 32) {
        const auto n = static_cast<unsigned>(std::min<size_t>(32, keys.size() - off));
        typename TypeParam::Ref out[32];
        const uint64_t hits = t->lookup_bulk(&keys[off], n, out);
        for (unsigned i = 0; i < n; i++) {
            const auto one = t->lookup(keys[off + i]);
            const bool expect_hit = (off + i) % 2 == 0;
            ASSERT_EQ(bool(one), expect_hit) << off + i;
            ASSERT_EQ(out[i].entry, one.entry) << off + i;
            ASSERT_EQ(out[i].dir, one.dir) << off + i;
            ASSERT_EQ((hits >> i) & 1, uint64_t{expect_hit}) << off + i;
        }
    }
}

// At full size some first buckets overflow into second ones; those keys must be found the same.
TYPED_TEST(FlowTableTest, EveryInsertedFlowIsFoundWhenTheTableIsFull) {
    constexpr uint32_t kMax = 4915;  // 9830 keys in 16384 slots at most: 60% load, the worst case
    auto t = this->make(kMax);
    std::vector<uint32_t> in;
    constexpr uint32_t kClashes = 400;  // entries left for inserts that clash
    for (uint32_t i = 0; i < kMax - kClashes; i++)
        if (t->insert(0, this->init_of(this->flow(i)), 1).status == InsertStatus::inserted) in.push_back(i);
    EXPECT_GE(in.size(), (kMax - kClashes) * 99 / 100);
    EXPECT_EQ(t->stats().full_buckets, kMax - kClashes - in.size());
    std::vector<typename TypeParam::Key> keys;
    for (uint32_t i : in) {
        keys.push_back(this->flow(i).orig);
        keys.push_back(this->flow(i).reply);
    }
    for (size_t off = 0; off + 32 <= keys.size(); off += 32) {
        typename TypeParam::Ref out[32];
        ASSERT_EQ(t->lookup_bulk(&keys[off], 32, out), ~uint64_t{0} >> 32) << off;
        for (unsigned j = 0; j < 32; j++) ASSERT_EQ(out[j].entry, t->lookup(keys[off + j]).entry);
    }
    EXPECT_GT(t->spilled_keys(), 0u) << "at 60% load some keys live in their second bucket";
    // Clashing inserts claim an original slot, possibly a spilled one, and give it back.
    for (uint32_t i = kMax; i < kMax + kClashes; i++) {
        auto clash = this->init_of(this->flow(i));
        clash.reply = this->flow(in[i % in.size()]).reply;
        const InsertStatus st = t->insert(0, clash, 1).status;
        ASSERT_TRUE(st == InsertStatus::clash || st == InsertStatus::full) << insert_status_name(st);
    }
    EXPECT_GT(t->stats().clash, kClashes / 2);
    for (uint32_t i : in) ASSERT_TRUE(t->unlink(*t->lookup(this->flow(i).orig).entry));
    for (const auto& k : keys) ASSERT_FALSE(t->lookup(k));
    EXPECT_EQ(t->spilled_keys(), 0u) << "every spilled key was counted out again";
}

TYPED_TEST(FlowTableTest, UnlinkedFlowIsGoneAndItsKeysCanBeInsertedAgain) {
    auto t = this->make(64);
    const auto f = this->flow(5);
    const auto r = t->insert(0, this->init_of(f), 1);
    ASSERT_EQ(r.status, InsertStatus::inserted);
    EXPECT_TRUE(t->unlink(*r.entry));
    EXPECT_FALSE(t->unlink(*r.entry)) << "only one caller unlinks";
    EXPECT_FALSE(t->lookup(f.orig));
    EXPECT_FALSE(t->lookup(f.reply));
    const auto again = t->insert(0, this->init_of(f), 2);
    ASSERT_EQ(again.status, InsertStatus::inserted);
    EXPECT_NE(again.entry, r.entry) << "the unlinked entry waits for a grace period";
}

TYPED_TEST(FlowTableTest, CreateRejectsImpossibleSizes) {
    std::string err;
    ConntrackConfig cfg;
    cfg.workers = 4;
    cfg.max_flows = 3;
    EXPECT_EQ(TypeParam::create(cfg, err), nullptr);
    EXPECT_NE(err.find("maxFlows"), std::string::npos) << err;
    cfg.workers = 0;
    EXPECT_EQ(TypeParam::create(cfg, err), nullptr);
}

// Buckets, spill counters and free lists add at most 64 bytes per flow to the entry (64 bytes
// for IPv4, 128 for IPv6), whatever maxFlows is.
TYPED_TEST(FlowTableTest, MemoryPerFlowFitsTheBudget) {
    for (uint32_t n : {1u << 20, 1500000u, 1000u}) {
        auto t = this->make(n);
        const double per_flow = double(t->memory_bytes()) / n;
        std::printf("%u flows: %.1f bytes per flow (entry %zu)\n", n, per_flow, sizeof(typename TypeParam::Entry));
        EXPECT_LE(t->memory_bytes() / n, sizeof(typename TypeParam::Entry) + 64) << n << " flows";
    }
}

// Sums 16-bit words as they sit in memory, like a checksum over the packet bytes.
uint16_t sum_words(std::initializer_list<uint16_t> words, uint32_t s = 0) {
    for (uint16_t w : words) s += w;
    return static_cast<uint16_t>(~net::csum_fold(s));
}

uint16_t half0(uint32_t v) { return static_cast<uint16_t>(v); }
uint16_t half1(uint32_t v) { return static_cast<uint16_t>(v >> 16); }

// Checksum over the fields a NAT rewrite touches plus some fixed words (the rest of the header).
uint16_t l4_csum(const FlowKey& k) {
    return sum_words({half0(k.src_ip), half1(k.src_ip), half0(k.dst_ip), half1(k.dst_ip), k.src_port, k.dst_port,
                      0x1234, 0xabcd, uint16_t{k.proto}});
}
uint16_t ip_csum(const FlowKey& k) {
    return sum_words({0x4500, 0x0054, half0(k.src_ip), half1(k.src_ip), half0(k.dst_ip), half1(k.dst_ip)});
}

TEST(ConntrackTable, ChecksumDeltasTurnOneKeysChecksumIntoTheOther) {
    auto t = test::make_table<ConntrackTable>(64);
    FlowInit in;
    in.orig = key(ip(203, 0, 113, 9), 40000, ip(192, 0, 2, 1), 30080, net::kProtoUdp);
    in.reply = key(ip(10, 244, 3, 7), 8080, ip(10, 244, 0, 1), 61000, net::kProtoUdp);
    const InsertResult r = t->insert(0, in, 1);
    ASSERT_EQ(r.status, InsertStatus::inserted);
    for (Dir d : {Dir::orig, Dir::reply}) {
        const FlowKey from = r.entry->key_of(d);
        const FlowKey to = r.entry->translated(d);
        EXPECT_EQ(net::csum_apply(ip_csum(from), r.entry->ip_delta(d)), ip_csum(to));
        EXPECT_EQ(net::csum_apply(l4_csum(from), r.entry->l4_delta(d)), l4_csum(to));
    }
}

// Inserts `in` and checks, for both directions, that the flow's L4 delta turns `csum` of the key
// a packet matched into `csum` of the key it leaves with.
template <class T, class Csum>
void expect_l4_deltas_translate(const typename T::Init& in, Csum csum) {
    auto t = test::make_table<T>(64);
    const auto r = t->insert(0, in, 1);
    ASSERT_EQ(r.status, InsertStatus::inserted);
    for (Dir d : {Dir::orig, Dir::reply})
        EXPECT_EQ(net::csum_apply(csum(r.entry->key_of(d)), r.entry->l4_delta(d)), csum(r.entry->translated(d)));
}

TEST(ConntrackTable, IcmpEchoDeltaCoversTheIdentifierOnly) {
    FlowInit in;
    in.orig = key(ip(10, 244, 1, 2), 77, ip(8, 8, 8, 8), 77, net::kProtoIcmp);
    in.reply = key(ip(8, 8, 8, 8), 1500, ip(192, 0, 2, 1), 1500, net::kProtoIcmp);
    expect_l4_deltas_translate<ConntrackTable>(in, [](const FlowKey& k) { return sum_words({0x0800, k.src_port, 0x0001, 0x5555}); });
}

// The pseudo-header addresses of an IPv6 upper-layer checksum (RFC 8200 8.1), summed.
uint32_t address_sum(const FlowKey6& k) { return net::csum_partial(k.src_ip.data(), 16, net::csum_partial(k.dst_ip.data(), 16)); }

TEST(ConntrackTable6, ChecksumDeltaTurnsOneKeysChecksumIntoTheOther) {
    FlowInit6 in;
    in.orig = key(ip6(0x2001, 0xdb8, 7, 0, 0, 0, 0, 9), 40000, ip6(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1), 30080, net::kProtoUdp);
    in.reply = key(ip6(0xfd00, 0x244, 3, 0, 0, 0, 0, 7), 8080, ip6(0xfd00, 0x244, 0, 0, 0, 0, 0, 1), 61000, net::kProtoUdp);
    expect_l4_deltas_translate<ConntrackTable6>(in, [](const FlowKey6& k) {
        return sum_words({k.src_port, k.dst_port, 0x1234, 0xabcd, uint16_t{k.proto}}, address_sum(k));
    });
}

// ICMPv6 differs from ICMP: its checksum covers the pseudo-header, so the addresses count too.
TEST(ConntrackTable6, IcmpEchoDeltaCoversTheAddressesAndTheIdentifier) {
    FlowInit6 in;
    in.orig = key(ip6(0xfd00, 0x244, 1, 0, 0, 0, 0, 2), 77, ip6(0x2001, 0x4860, 0, 0, 0, 0, 0, 0x8888), 77, net::kProtoIcmpv6);
    in.reply = key(ip6(0x2001, 0x4860, 0, 0, 0, 0, 0, 0x8888), 1500, ip6(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1), 1500, net::kProtoIcmpv6);
    expect_l4_deltas_translate<ConntrackTable6>(
        in, [](const FlowKey6& k) { return sum_words({0x8000, k.src_port, 0x0001, 0x5555}, address_sum(k)); });
}

TEST(FlowKey6, IsFiveWordsComparedWholeAndHashedOnEveryByte) {
    const FlowKey6 a = test::dnat_flow<FlowKey6>(1).orig;
    EXPECT_EQ(a.reversed().reversed(), a);
    EXPECT_NE(a.reversed(), a);
    // A change in any byte of the 37 changes both halves of the hash and breaks equality.
    for (size_t i = 0; i < 37; i++) {
        FlowKey6 b = a;
        reinterpret_cast<uint8_t*>(&b)[i] ^= 0x01;
        EXPECT_NE(a, b) << "byte " << i;
        EXPECT_NE(flow_hash(a) >> 32, flow_hash(b) >> 32) << "byte " << i;
        EXPECT_NE(static_cast<uint32_t>(flow_hash(a)), static_cast<uint32_t>(flow_hash(b))) << "byte " << i;
    }
}

}  // namespace
}  // namespace nfgate::ct

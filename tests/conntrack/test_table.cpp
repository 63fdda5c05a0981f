// Single-threaded behaviour of the flow table: both keys, duplicates, clashes, full table,
// bulk lookup, checksum deltas.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/conntrack/conntrack_table.hpp"
#include "tests/conntrack/test_helpers.hpp"

namespace nfgate::ct {
namespace {

using test::dnat_flow;
using test::ip;
using test::key;

std::unique_ptr<ConntrackTable> make_table(uint32_t max_flows, unsigned workers = 1) {
    ConntrackTable::Config cfg;
    cfg.max_flows = max_flows;
    cfg.workers = workers;
    std::string err;
    auto t = ConntrackTable::create(cfg, err);
    EXPECT_NE(t, nullptr) << err;
    return t;
}

FlowInit init_of(const test::DnatFlow& f, uint8_t tcp_flags = net::kTcpSyn) {
    FlowInit in;
    in.orig = f.orig;
    in.reply = f.reply;
    in.tcp_flags = tcp_flags;
    return in;
}

TEST(ConntrackTable, FindsOneEntryUnderBothKeys) {
    auto t = make_table(1024);
    const auto f = dnat_flow(7);
    const InsertResult r = t->insert(0, init_of(f), 100);
    ASSERT_EQ(r.status, InsertStatus::inserted);

    const FlowRef o = t->lookup(f.orig);
    const FlowRef p = t->lookup(f.reply);
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
    EXPECT_FALSE(t->lookup(dnat_flow(8).orig));
    EXPECT_FALSE(t->lookup(f.orig.reversed()));
}

TEST(ConntrackTable, SecondInsertOfSameKeyReturnsTheFirstFlow) {
    auto t = make_table(1024);
    const auto f = dnat_flow(1);
    const InsertResult a = t->insert(0, init_of(f), 1);
    auto other_backend = f;
    other_backend.reply.src_ip = ip(10, 244, 0, 6);
    const InsertResult b = t->insert(0, init_of(other_backend), 2);
    ASSERT_EQ(a.status, InsertStatus::inserted);
    ASSERT_EQ(b.status, InsertStatus::exists);
    EXPECT_EQ(b.entry, a.entry);
    EXPECT_FALSE(t->lookup(other_backend.reply)) << "the loser's reply key must not be linked";
    EXPECT_EQ(t->stats().exists, 1u);
}

TEST(ConntrackTable, ReplyKeyOfAnotherFlowIsAClash) {
    auto t = make_table(1024);
    const auto f = dnat_flow(1);
    ASSERT_EQ(t->insert(0, init_of(f), 1).status, InsertStatus::inserted);
    FlowInit second = init_of(dnat_flow(2));
    second.reply = f.reply;
    EXPECT_EQ(t->insert(0, second, 1).status, InsertStatus::clash);
    EXPECT_FALSE(t->lookup(second.orig)) << "a clashing flow leaves nothing linked";
    EXPECT_EQ(t->lookup(f.reply).entry, t->lookup(f.orig).entry);
    EXPECT_EQ(t->stats().clash, 1u);
}

TEST(ConntrackTable, RefusesTcpThatCannotOpenAndSelfReplies) {
    auto t = make_table(64);
    const auto f = dnat_flow(3);
    EXPECT_EQ(t->insert(0, init_of(f, net::kTcpSyn | net::kTcpAck), 1).status, InsertStatus::invalid);
    EXPECT_EQ(t->insert(0, init_of(f, net::kTcpRst), 1).status, InsertStatus::invalid);
    FlowInit same = init_of(f);
    same.reply = same.orig;
    EXPECT_EQ(t->insert(0, same, 1).status, InsertStatus::invalid);
    EXPECT_EQ(t->insert(0, init_of(f, net::kTcpAck), 1).status, InsertStatus::inserted)
        << "mid-stream pickup, like nf_conntrack_tcp_loose";
    EXPECT_EQ(t->lookup(f.orig).entry->tcp_state(), TcpState::established);
}

TEST(ConntrackTable, FullTableRefusesNewFlowsAndKeepsOldOnes) {
    constexpr uint32_t kMax = 256;
    auto t = make_table(kMax);
    uint32_t inserted = 0;
    for (uint32_t i = 0; i < kMax; i++) {
        const InsertResult r = t->insert(0, init_of(dnat_flow(i)), 1);
        if (r.status != InsertStatus::inserted) continue;
        ++inserted;
        // Established: a full table keeps these (it gives up only half-open flows).
        ConntrackTable::track(*r.entry, Dir::reply, net::kTcpSyn | net::kTcpAck, 1);
        ConntrackTable::track(*r.entry, Dir::orig, net::kTcpAck, 1);
    }
    ASSERT_EQ(inserted, kMax);
    EXPECT_EQ(t->insert(0, init_of(dnat_flow(kMax)), 1).status, InsertStatus::full);
    EXPECT_EQ(t->stats().full_entries, 1u);
    EXPECT_EQ(t->stats().live, kMax);
    for (uint32_t i = 0; i < kMax; i++) {
        const auto f = dnat_flow(i);
        ASSERT_TRUE(t->lookup(f.orig)) << i;
        ASSERT_TRUE(t->lookup(f.reply)) << i;
    }
    EXPECT_FALSE(t->lookup(dnat_flow(kMax).orig));
}

TEST(ConntrackTable, BulkLookupAgreesWithSingleLookup) {
    auto t = make_table(4096);
    for (uint32_t i = 0; i < 3000; i += 2) ASSERT_EQ(t->insert(0, init_of(dnat_flow(i)), 1).status, InsertStatus::inserted);
    std::vector<FlowKey> keys;
    for (uint32_t i = 0; i < 3000; i++) keys.push_back(i % 3 == 0 ? dnat_flow(i).reply : dnat_flow(i).orig);
    for (size_t off = 0; off < keys.size(); off += 32) {
        const auto n = static_cast<unsigned>(std::min<size_t>(32, keys.size() - off));
        FlowRef out[32];
        const uint64_t hits = t->lookup_bulk(&keys[off], n, out);
        for (unsigned i = 0; i < n; i++) {
            const FlowRef one = t->lookup(keys[off + i]);
            const bool expect_hit = (off + i) % 2 == 0;
            ASSERT_EQ(bool(one), expect_hit) << off + i;
            ASSERT_EQ(out[i].entry, one.entry) << off + i;
            ASSERT_EQ(out[i].dir, one.dir) << off + i;
            ASSERT_EQ((hits >> i) & 1, uint64_t{expect_hit}) << off + i;
        }
    }
}

// At full size some first buckets overflow into second ones; those keys must be found the same.
TEST(ConntrackTable, EveryInsertedFlowIsFoundWhenTheTableIsFull) {
    constexpr uint32_t kMax = 4915;  // 9830 keys in 16384 slots at most: 60% load, the worst case
    auto t = make_table(kMax);
    std::vector<uint32_t> in;
    constexpr uint32_t kClashes = 400;  // entries left for inserts that clash
    for (uint32_t i = 0; i < kMax - kClashes; i++)
        if (t->insert(0, init_of(dnat_flow(i)), 1).status == InsertStatus::inserted) in.push_back(i);
    EXPECT_GE(in.size(), (kMax - kClashes) * 99 / 100);
    EXPECT_EQ(t->stats().full_buckets, kMax - kClashes - in.size());
    std::vector<FlowKey> keys;
    for (uint32_t i : in) {
        keys.push_back(dnat_flow(i).orig);
        keys.push_back(dnat_flow(i).reply);
    }
    for (size_t off = 0; off + 32 <= keys.size(); off += 32) {
        FlowRef out[32];
        ASSERT_EQ(t->lookup_bulk(&keys[off], 32, out), ~uint64_t{0} >> 32) << off;
        for (unsigned j = 0; j < 32; j++) ASSERT_EQ(out[j].entry, t->lookup(keys[off + j]).entry);
    }
    EXPECT_GT(t->spilled_keys(), 0u) << "at 60% load some keys live in their second bucket";
    // Clashing inserts claim an original slot, possibly a spilled one, and give it back.
    for (uint32_t i = kMax; i < kMax + kClashes; i++) {
        FlowInit clash = init_of(dnat_flow(i));
        clash.reply = dnat_flow(in[i % in.size()]).reply;
        const InsertStatus st = t->insert(0, clash, 1).status;
        ASSERT_TRUE(st == InsertStatus::clash || st == InsertStatus::full) << insert_status_name(st);
    }
    EXPECT_GT(t->stats().clash, kClashes / 2);
    for (uint32_t i : in) ASSERT_TRUE(t->unlink(*t->lookup(dnat_flow(i).orig).entry));
    for (const FlowKey& k : keys) ASSERT_FALSE(t->lookup(k));
    EXPECT_EQ(t->spilled_keys(), 0u) << "every spilled key was counted out again";
}

TEST(ConntrackTable, UnlinkedFlowIsGoneAndItsKeysCanBeInsertedAgain) {
    auto t = make_table(64);
    const auto f = dnat_flow(5);
    const InsertResult r = t->insert(0, init_of(f), 1);
    ASSERT_EQ(r.status, InsertStatus::inserted);
    EXPECT_TRUE(t->unlink(*r.entry));
    EXPECT_FALSE(t->unlink(*r.entry)) << "only one caller unlinks";
    EXPECT_FALSE(t->lookup(f.orig));
    EXPECT_FALSE(t->lookup(f.reply));
    const InsertResult again = t->insert(0, init_of(f), 2);
    ASSERT_EQ(again.status, InsertStatus::inserted);
    EXPECT_NE(again.entry, r.entry) << "the unlinked entry waits for a grace period";
}

// Sums 16-bit words as they sit in memory, like a checksum over the packet bytes.
uint16_t sum_words(std::initializer_list<uint16_t> words) {
    uint32_t s = 0;
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
    auto t = make_table(64);
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

TEST(ConntrackTable, IcmpEchoDeltaCoversTheIdentifierOnly) {
    auto t = make_table(64);
    FlowInit in;
    in.orig = key(ip(10, 244, 1, 2), 77, ip(8, 8, 8, 8), 77, net::kProtoIcmp);
    in.reply = key(ip(8, 8, 8, 8), 1500, ip(192, 0, 2, 1), 1500, net::kProtoIcmp);
    const InsertResult r = t->insert(0, in, 1);
    ASSERT_EQ(r.status, InsertStatus::inserted);
    for (Dir d : {Dir::orig, Dir::reply}) {
        const FlowKey from = r.entry->key_of(d);
        const FlowKey to = r.entry->translated(d);
        const uint16_t before = sum_words({0x0800, from.src_port, 0x0001, 0x5555});
        const uint16_t after = sum_words({0x0800, to.src_port, 0x0001, 0x5555});
        EXPECT_EQ(net::csum_apply(before, r.entry->l4_delta(d)), after);
    }
}

TEST(ConntrackTable, CreateRejectsImpossibleSizes) {
    std::string err;
    ConntrackTable::Config cfg;
    cfg.workers = 4;
    cfg.max_flows = 3;
    EXPECT_EQ(ConntrackTable::create(cfg, err), nullptr);
    EXPECT_NE(err.find("maxFlows"), std::string::npos) << err;
    cfg.workers = 0;
    EXPECT_EQ(ConntrackTable::create(cfg, err), nullptr);
}

TEST(ConntrackTable, MemoryPerFlowFitsTheBudget) {
    for (uint32_t n : {1u << 20, 1500000u, 1000u}) {
        auto t = make_table(n);
        EXPECT_LE(t->memory_bytes() / n, 128u) << n << " flows";
    }
}

}  // namespace
}  // namespace nfgate::ct

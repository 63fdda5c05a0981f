// IPv4 fragments of translated flows: the first fragment finds (or creates) the flow, later
// fragments take its addresses from the worker's fragment table. Datagrams are split here from
// a correctly checksummed whole, and what leaves is reassembled and checked from scratch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "dataplane/net/checksum.hpp"
#include "dataplane/engine/fragment_table.hpp"
#include "tests/engine/engine_lab.hpp"

namespace nfgate::test {
namespace {

using engine::Reason;

constexpr size_t kEth = sizeof(rte_ether_hdr);
constexpr size_t kIp = sizeof(rte_ipv4_hdr);


std::vector<uint8_t> payload_of(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

// Splits the serialised datagram `p` into fragments holding `cuts` (byte offsets into the L4
// part, multiples of 8) as their boundaries, each with a freshly computed header checksum.
std::vector<std::vector<uint8_t>> fragment(const Pkt& p, const std::vector<size_t>& cuts) {
    const std::vector<uint8_t> whole = serialize(p);
    const size_t l4_len = whole.size() - kEth - kIp;
    std::vector<size_t> bounds{0};
    bounds.insert(bounds.end(), cuts.begin(), cuts.end());
    bounds.push_back(l4_len);
    std::vector<std::vector<uint8_t>> out;
    for (size_t i = 0; i + 1 < bounds.size(); ++i) {
        std::vector<uint8_t> f(whole.begin(), whole.begin() + kEth + kIp);
        f.insert(f.end(), whole.begin() + kEth + kIp + bounds[i], whole.begin() + kEth + kIp + bounds[i + 1]);
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + kEth);
        const bool more = i + 2 < bounds.size();
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIp + bounds[i + 1] - bounds[i]));
        ip->fragment_offset =
            rte_cpu_to_be_16(static_cast<uint16_t>((more ? RTE_IPV4_HDR_MF_FLAG : 0) | bounds[i] / 8));
        ip->hdr_checksum = 0;
        ip->hdr_checksum = net::csum_finish(net::csum_partial(ip, kIp));
        out.push_back(std::move(f));
    }
    return out;
}

struct OutFragment {
    rte_ipv4_hdr ip;
    uint16_t offset = 0;  // bytes
    bool more = false;
    bool ip_csum_ok = false;
    std::vector<uint8_t> data;  // the fragment's share of the L4 bytes
};

OutFragment read_fragment(const rte_mbuf* m) {
    const auto* base = rte_pktmbuf_mtod(m, const uint8_t*);
    OutFragment f;
    std::memcpy(&f.ip, base + kEth, kIp);
    const uint16_t field = rte_be_to_cpu_16(f.ip.fragment_offset);
    f.offset = static_cast<uint16_t>((field & RTE_IPV4_HDR_OFFSET_MASK) * 8);
    f.more = (field & RTE_IPV4_HDR_MF_FLAG) != 0;
    f.ip_csum_ok = net::csum_fold(net::csum_partial(base + kEth, kIp)) == 0xffff;
    const size_t total = rte_be_to_cpu_16(f.ip.total_length);
    f.data.assign(base + kEth + kIp, base + kEth + total);
    return f;
}

// What the receiver reassembles from the transmitted fragments on `port`.
struct Datagram {
    uint32_t src = 0, dst = 0;  // host order
    uint16_t sport = 0, dport = 0;
    bool udp_csum_ok = false;
    std::vector<uint8_t> payload;
    size_t fragments = 0;
};

Datagram reassemble(const RecordingIo& io, uint16_t port) {
    std::map<uint16_t, OutFragment> by_offset;
    Datagram d;
    for (const Sent& s : io.sent) {
        EXPECT_EQ(s.port, port);
        OutFragment f = read_fragment(s.m);
        EXPECT_TRUE(f.ip_csum_ok) << "fragment at " << f.offset;
        if (d.fragments++ == 0) {
            d.src = rte_be_to_cpu_32(f.ip.src_addr);
            d.dst = rte_be_to_cpu_32(f.ip.dst_addr);
        }
        EXPECT_EQ(rte_be_to_cpu_32(f.ip.src_addr), d.src) << "fragments leave with one source";
        EXPECT_EQ(rte_be_to_cpu_32(f.ip.dst_addr), d.dst) << "fragments leave with one destination";
        by_offset.emplace(f.offset, std::move(f));
    }
    std::vector<uint8_t> l4;
    bool last_seen = false;
    for (auto& [off, f] : by_offset) {
        EXPECT_EQ(off, l4.size()) << "hole or overlap in the transmitted fragments";
        l4.insert(l4.end(), f.data.begin(), f.data.end());
        last_seen = !f.more;
    }
    EXPECT_TRUE(last_seen);
    if (l4.size() < sizeof(rte_udp_hdr)) return d;
    rte_udp_hdr udp;
    std::memcpy(&udp, l4.data(), sizeof udp);
    d.sport = rte_be_to_cpu_16(udp.src_port);
    d.dport = rte_be_to_cpu_16(udp.dst_port);
    EXPECT_EQ(rte_be_to_cpu_16(udp.dgram_len), l4.size());
    // Pseudo-header (RFC 768) plus the whole datagram must sum to all ones.
    const uint32_t src_be = rte_cpu_to_be_32(d.src), dst_be = rte_cpu_to_be_32(d.dst);
    uint32_t sum = net::csum_partial(&src_be, 4);
    sum = net::csum_partial(&dst_be, 4, sum);
    const uint16_t proto_be = rte_cpu_to_be_16(17), len_be = rte_cpu_to_be_16(static_cast<uint16_t>(l4.size()));
    sum = net::csum_partial(&proto_be, 2, sum);
    sum = net::csum_partial(&len_be, 2, sum);
    sum = net::csum_partial(l4.data(), l4.size(), sum);
    d.udp_csum_ok = udp.dgram_cksum != 0 && net::csum_fold(sum) == 0xffff;
    d.payload.assign(l4.begin() + sizeof(rte_udp_hdr), l4.end());
    return d;
}

// A 64-byte query to the DNS ClusterIP in three fragments (16 + 24 + 32 bytes of L4).
Pkt dns_query(uint16_t ip_id) {
    Pkt q = from_router(Pkt::udp("198.51.100.7", 1000, "10.96.0.53", 53));
    q.ip_id = ip_id;
    q.payload = payload_of(64, static_cast<uint8_t>(ip_id));
    return q;
}
const std::vector<size_t> kCuts{16, 40};

TEST(EngineFragments, ClusterIpDatagramAndItsReplyLeaveTranslated) {
    Lab lab;
    const Pkt q = dns_query(0x4242);
    lab.send(kExt, fragment(q, kCuts));
    ASSERT_EQ(lab.io.sent.size(), 3u) << "dropped " << lab.io.dropped;
    const Datagram out = reassemble(lab.io, kPods);
    const std::set<uint32_t> backends{ip("10.244.2.10"), ip("10.244.2.11")};
    EXPECT_TRUE(backends.count(out.dst)) << "to a backend of the Service";
    EXPECT_EQ(out.src, ip("10.244.0.1")) << "masqueraded to the gateway's pod-side address";
    EXPECT_EQ(out.dport, 5353);
    EXPECT_TRUE(out.udp_csum_ok);
    EXPECT_EQ(out.payload, q.payload);
    for (const Sent& s : lab.io.sent)
        EXPECT_EQ(rte_be_to_cpu_16(read_fragment(s.m).ip.packet_id), 0x4242) << "IP id kept";
    EXPECT_EQ(lab.worker_->stats.forwarded_nat(), 3u);

    Pkt reply = Pkt::udp("0.0.0.1", 5353, "0.0.0.1", out.sport);
    reply.src = out.dst;
    reply.dst = out.src;
    reply = from_pod(reply);
    reply.ip_id = 0x0777;
    reply.payload = payload_of(48, 3);
    lab.send(kPods, fragment(reply, {8, 32}));
    ASSERT_EQ(lab.io.sent.size(), 3u) << "dropped " << lab.io.dropped;
    const Datagram back = reassemble(lab.io, kExt);
    EXPECT_EQ(back.src, ip("10.96.0.53"));
    EXPECT_EQ(back.dst, ip("198.51.100.7"));
    EXPECT_EQ(back.sport, 53);
    EXPECT_EQ(back.dport, 1000);
    EXPECT_TRUE(back.udp_csum_ok);
    EXPECT_EQ(back.payload, reply.payload);
}

TEST(EngineFragments, SecondDatagramOfAnEstablishedFlowIsTranslatedToo) {
    Lab lab;
    lab.send(kExt, serialize(dns_query(1)));  // unfragmented: creates the flow
    const Out first = lab.only_output(kPods);
    lab.send(kExt, fragment(dns_query(2), kCuts));
    ASSERT_EQ(lab.io.sent.size(), 3u);
    const Datagram out = reassemble(lab.io, kPods);
    EXPECT_EQ(out.dst, first.dst);
    EXPECT_EQ(out.src, first.src);
    EXPECT_EQ(out.sport, first.sport);
    EXPECT_TRUE(out.udp_csum_ok);
}

TEST(EngineFragments, LaterFragmentWithoutItsFirstIsDroppedAndCounted) {
    Lab lab;
    auto frags = fragment(dns_query(0x99), kCuts);
    lab.send(kExt, {frags[1], frags[2]});
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.io.dropped, 2u);
    EXPECT_EQ(lab.reason(Reason::fragment_without_first), 2u);

    // A later fragment that arrives in a burst before its first fragment's cannot be translated.
    frags = fragment(dns_query(0x9a), kCuts);
    lab.send(kExt, frags[1]);
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::fragment_without_first), 3u);
    lab.send(kExt, {frags[0], frags[2]});
    ASSERT_EQ(lab.io.sent.size(), 2u);
    for (const Sent& s : lab.io.sent) {
        const OutFragment f = read_fragment(s.m);
        EXPECT_NE(rte_be_to_cpu_32(f.ip.dst_addr), ip("10.96.0.53")) << "never forwarded untranslated";
        EXPECT_NE(f.offset, 16) << "the early middle fragment stays dropped";
    }
}

TEST(EngineFragments, ReorderedWithinOneBurstAllLeaveTranslated) {
    Lab lab;
    const Pkt q = dns_query(0x77);
    const auto frags = fragment(q, kCuts);
    lab.send(kExt, {frags[2], frags[1], frags[0]});
    ASSERT_EQ(lab.io.sent.size(), 3u) << "dropped " << lab.io.dropped;
    const Datagram out = reassemble(lab.io, kPods);
    EXPECT_EQ(out.dport, 5353);
    EXPECT_TRUE(out.udp_csum_ok);
    EXPECT_EQ(out.payload, q.payload);
}

TEST(EngineFragments, TableEntryTimesOut) {
    Lab lab;
    const auto frags = fragment(dns_query(0x55), kCuts);
    lab.send(kExt, frags[0]);
    const Out first = lab.only_output(kPods);
    lab.advance(1);
    lab.send(kExt, frags[1]);
    ASSERT_EQ(lab.io.sent.size(), 1u);
    EXPECT_EQ(rte_be_to_cpu_32(read_fragment(lab.io.sent[0].m).ip.dst_addr), first.dst);

    lab.advance(engine::FragmentTable::kTimeoutNs / 1'000'000'000);
    lab.send(kExt, frags[2]);
    EXPECT_TRUE(lab.io.sent.empty());
    EXPECT_EQ(lab.reason(Reason::fragment_without_first), 1u);
}

TEST(EngineFragments, FragmentsOfUntranslatedTrafficAreRoutedUntouched) {
    Lab lab;
    Pkt p = from_pod(Pkt::udp("10.244.9.9", 1000, "10.244.9.10", 53));
    p.payload = payload_of(40, 1);
    const auto frags = fragment(p, {24});
    lab.send(kPods, {frags[1], frags[0]});  // order does not matter without translation
    ASSERT_EQ(lab.io.sent.size(), 2u);
    const Datagram out = reassemble(lab.io, kPods);
    EXPECT_EQ(out.src, ip("10.244.9.9"));
    EXPECT_EQ(out.dst, ip("10.244.9.10"));
    EXPECT_EQ(out.dport, 53);
    EXPECT_TRUE(out.udp_csum_ok);
}

TEST(FragmentTable, FullSetsEvictTheOldestAndExpiredEntriesAreReused) {
    auto table = std::make_unique<engine::FragmentTable>();
    constexpr unsigned kCapacity = engine::FragmentTable::kSets * engine::FragmentTable::kWays;
    const uint64_t t0 = 5'000'000'000;
    auto key = [](unsigned i) {
        return engine::FragmentTable::Key{rte_cpu_to_be_32(0x0a000000u + i), rte_cpu_to_be_32(0xc6336407u),
                                          static_cast<uint16_t>(i * 31), 17};
    };
    unsigned evictions = 0;
    for (unsigned i = 0; i < 2 * kCapacity; ++i)
        evictions += !table->remember(key(i), {i, i}, t0 + i) ? 1 : 0;
    EXPECT_GE(evictions, kCapacity);
    EXPECT_LE(evictions, 2 * kCapacity);
    unsigned found = 0;
    for (unsigned i = 0; i < 2 * kCapacity; ++i) {
        const auto* t = table->find(key(i), t0 + 2 * kCapacity);
        if (t == nullptr) continue;
        ++found;
        EXPECT_EQ(t->src, i);
    }
    EXPECT_EQ(found, 2 * kCapacity - evictions) << "every insert either filled a slot or evicted one entry";
    ASSERT_NE(table->find(key(2 * kCapacity - 1), t0 + 2 * kCapacity), nullptr) << "newest entry kept";

    // Once everything expired, new datagrams take the slots without evicting live ones.
    const uint64_t later = t0 + 2 * kCapacity + engine::FragmentTable::kTimeoutNs;
    EXPECT_EQ(table->find(key(2 * kCapacity - 1), later), nullptr);
    unsigned late_evictions = 0;
    for (unsigned i = 0; i < engine::FragmentTable::kSets / 8; ++i)
        late_evictions += !table->remember(key(10 * kCapacity + i), {i, i}, later) ? 1 : 0;
    EXPECT_EQ(late_evictions, 0u);
    // Remembering the same datagram again replaces its entry, not another one.
    EXPECT_TRUE(table->remember(key(10 * kCapacity), {7, 7}, later + 1));
    EXPECT_EQ(table->find(key(10 * kCapacity), later + 1)->src, 7u);
}

}  // namespace
}  // namespace nfgate::test

#include "nft/nft_expr_lower.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_synproxy.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/udata.h>

#include <cstring>
#include <memory>

#include "nft/nft_handles.hpp"

namespace nfgate::nft {
namespace {

// Header offsets of the source and destination address: IPv4, IPv6.
constexpr uint32_t kSaddrOffset = 12;
constexpr uint32_t kDaddrOffset = 16;
constexpr uint32_t kSaddr6Offset = 8;
constexpr uint32_t kDaddr6Offset = 24;
// Transport header offsets of the source and destination port (same for TCP, UDP, SCTP).
constexpr uint32_t kSportOffset = 0;
constexpr uint32_t kDportOffset = 2;
constexpr uint32_t kCtStatusDnat = 0x20;  // IPS_DST_NAT
constexpr uint32_t kIcmpPortUnreachable = 3;
constexpr uint32_t kIcmp6PortUnreachable = 4;  // ICMPV6_PORT_UNREACH
constexpr uint8_t kCtDirOriginal = 0;  // IP_CT_DIR_ORIGINAL
constexpr uint32_t kTcpFlagsOffset = 13;
constexpr uint32_t kTcpFinSynRstAck = 0x17;
constexpr uint32_t kTcpSyn = 0x02;

// The n-th 32-bit register: a concatenation's members sit in consecutive ones, each member
// taking as many as its bytes need (an IPv6 address four).
constexpr uint32_t reg32(uint32_t n) { return NFT_REG32_00 + n; }

class Lowering {
public:
    Lowering(nftnl_rule* r, Family f)
        : r_(r), six_(f == Family::ip6), alen_(six_ ? 16 : 4), awords_(alen_ / 4) {}

    nftnl_expr* add(const char* name) {
        nftnl_expr* e = nftnl_expr_alloc(name);
        nftnl_rule_add_expr(r_, e);  // the rule owns it from here
        return e;
    }
    void payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
        nftnl_expr* e = add("payload");
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
    }
    void cmp(uint32_t op, const void* data, uint32_t len) {
        nftnl_expr* e = add("cmp");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    }
    void bitwise(uint32_t mask, uint32_t xor_value) {
        nftnl_expr* e = add("bitwise");
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor_value, 4);
    }
    void meta_load(uint32_t key, uint32_t dreg) {
        nftnl_expr* e = add("meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
    }
    void lookup(const std::string& set, uint32_t sreg, bool verdict) {
        nftnl_expr* e = add("lookup");
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
        if (verdict) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
    }
    uint32_t offset(Field f) const {
        if (six_) return f == Field::saddr ? kSaddr6Offset : kDaddr6Offset;
        return f == Field::saddr ? kSaddrOffset : kDaddrOffset;
    }
    void address(Field f, uint32_t dreg = NFT_REG_1) { payload(NFT_PAYLOAD_NETWORK_HEADER, offset(f), alen_, dreg); }
    // The address as the packet holds it (network order), alen_ bytes.
    void address_bytes(const Addr& a, uint8_t out[16]) const {
        if (six_) {
            std::memcpy(out, a.v6.data(), 16);
        } else {
            uint32_t be = htonl(a.v4);
            std::memcpy(out, &be, 4);
        }
    }

    // nft loads only the whole bytes a byte-aligned prefix covers, and masks the whole address
    // otherwise.
    void operator()(const MatchCidr& m) {
        uint32_t op = m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ;
        uint8_t net[16];
        address_bytes(m.cidr.addr, net);
        uint32_t off = offset(m.field);
        if (m.cidr.len % 8 == 0) {
            payload(NFT_PAYLOAD_NETWORK_HEADER, off, m.cidr.len / 8, NFT_REG_1);
            cmp(op, net, m.cidr.len / 8);
        } else if (!six_) {
            payload(NFT_PAYLOAD_NETWORK_HEADER, off, 4, NFT_REG_1);
            bitwise(htonl(m.cidr.len == 0 ? 0 : ~uint32_t{0} << (32 - m.cidr.len)), 0);
            cmp(op, net, 4);
        } else {
            const uint32_t len = 16;
            uint8_t mask[16] = {}, zero[16] = {};
            for (uint32_t i = 0; 8 * i < m.cidr.len; ++i)
                mask[i] = m.cidr.len >= 8 * (i + 1) ? 0xff : static_cast<uint8_t>(0xff00u >> (m.cidr.len - 8 * i));
            payload(NFT_PAYLOAD_NETWORK_HEADER, off, len, NFT_REG_1);
            nftnl_expr* e = add("bitwise");
            nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
            nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
            nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
            cmp(op, net, len);
        }
    }
    void operator()(const MatchSet& m) {
        if (m.field == Field::saddr_daddr) {
            // A concatenation as nft lays it out: each member in its own registers.
            address(Field::saddr, NFT_REG_1);
            address(Field::daddr, reg32(awords_));
        } else {
            address(m.field);
        }
        lookup(m.set, NFT_REG_1, false);
    }
    void operator()(const MatchL4proto& m) {
        meta_load(NFT_META_L4PROTO, NFT_REG_1);
        uint8_t p = static_cast<uint8_t>(m.proto);
        cmp(NFT_CMP_EQ, &p, 1);
    }
    void operator()(const MatchMarkBit& m) {
        meta_load(NFT_META_MARK, NFT_REG_1);
        bitwise(m.bit, 0);
        cmp(NFT_CMP_EQ, &m.bit, 4);
    }
    void operator()(const MatchCtDnat&) {
        nftnl_expr* e = add("ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        bitwise(kCtStatusDnat, 0);
        uint32_t zero = 0;
        cmp(NFT_CMP_NEQ, &zero, 4);
    }
    void operator()(const MatchCtNotNew&) {
        nftnl_expr* e = add("ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        cmp(NFT_CMP_NEQ, &kCtStateNew, 4);
    }
    void operator()(const MatchCtState& m) {
        nftnl_expr* e = add("ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        bitwise(m.mask, 0);
        uint32_t zero = 0;
        cmp(NFT_CMP_NEQ, &zero, 4);
    }
    void operator()(const MatchTcpSyn&) {
        (*this)(MatchL4proto{Proto::tcp});
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kTcpFlagsOffset, 1, NFT_REG_1);
        nftnl_expr* e = add("bitwise");
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
        const uint8_t mask = kTcpFinSynRstAck, zero = 0, syn = kTcpSyn;
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 1);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
        cmp(NFT_CMP_EQ, &syn, 1);
    }
    void operator()(const MatchTcpFrontend& m) {
        address(Field::daddr);
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, reg32(awords_));
        lookup(m.set, NFT_REG_1, false);
    }
    void operator()(const Notrack&) { add("notrack"); }
    void operator()(const SynProxy& m) {
        nftnl_expr* e = add("synproxy");
        nftnl_expr_set_u16(e, NFTNL_EXPR_SYNPROXY_MSS, m.mss);
        nftnl_expr_set_u32(e, NFTNL_EXPR_SYNPROXY_FLAGS, NF_SYNPROXY_OPT_MSS);
    }
    // The limit travels inside the dynset: the kernel gives every element its own copy.
    void operator()(const LimitPerSource& m) {
        address(Field::saddr);
        nftnl_expr* limit = nftnl_expr_alloc("limit");
        nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_RATE, m.rate);
        nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_UNIT, 1);  // per second
        nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_BURST, m.burst);
        nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
        nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);  // "over": true past the rate
        nftnl_expr* e = add("dynset");
        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
        nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, m.set.c_str());
        nftnl_expr_add_expr(e, NFTNL_EXPR_DYNSET_EXPRESSIONS, limit);  // the dynset owns it
    }
    void operator()(const CounterRef& m) {
        nftnl_expr* e = add("objref");
        nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
        nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, m.name.c_str());
    }
    void ct_original(uint32_t key, uint32_t dreg) {
        nftnl_expr* e = add("ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, kCtDirOriginal);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
    }
    void operator()(const MatchCtFrontend& m) {
        ct_original(six_ ? NFT_CT_DST_IP6 : NFT_CT_DST_IP, NFT_REG_1);
        meta_load(NFT_META_L4PROTO, reg32(awords_));
        ct_original(NFT_CT_PROTO_DST, reg32(awords_ + 1));
        lookup(m.set, NFT_REG_1, false);
    }
    void numgen(uint32_t mod) {
        nftnl_expr* e = add("numgen");
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, mod);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, 0);
    }
    void operator()(const MatchNumgen& m) {
        numgen(m.mod);
        uint32_t zero = 0;
        cmp(NFT_CMP_EQ, &zero, 4);
    }
    // Concatenations live in consecutive 32-bit registers starting at the first one.
    void operator()(const VmapAddrProtoPort& m) {
        address(Field::daddr);
        meta_load(NFT_META_L4PROTO, reg32(awords_));
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, reg32(awords_ + 1));
        lookup(m.map, NFT_REG_1, true);
    }
    void operator()(const VmapProtoPort& m) {
        meta_load(NFT_META_L4PROTO, NFT_REG_1);
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, NFT_REG32_01);
        lookup(m.map, NFT_REG_1, true);
    }
    void operator()(const SetMarkBit& m) {
        meta_load(NFT_META_MARK, NFT_REG_1);
        bitwise(~m.bit, m.on ? m.bit : 0);
        nftnl_expr* e = add("meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
    }
    // The map's data (address . port) is built in the second 16-byte register, as nft does.
    void operator()(const UpdateAffinity& m) {
        address(Field::saddr);
        uint8_t ip[16];
        address_bytes(m.ip, ip);
        uint16_t port = htons(m.port);
        immediate(NFT_REG_2, ip, alen_);
        immediate(reg32(4 + awords_), &port, 2);
        nftnl_expr* e = add("dynset");
        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, NFT_REG_2);
        nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, m.map.c_str());
    }
    // The key is built in four consecutive 32-bit registers, as nft builds a concatenation; the
    // hash's input (ip saddr . th sport) in the third 16-byte register, as nft puts it. The seed
    // is sent explicitly: without one the kernel draws a random seed per rule.
    void operator()(const DnatEndpointMap& m) {
        address(Field::daddr);
        meta_load(NFT_META_L4PROTO, reg32(awords_));
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, reg32(awords_ + 1));
        address(Field::saddr, NFT_REG_3);
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kSportOffset, 2, reg32(8 + awords_));
        nftnl_expr* h = add("hash");
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_SREG, NFT_REG_3);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_DREG, reg32(awords_ + 2));
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_LEN, alen_ + 4);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_MODULUS, m.count);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_SEED, 0);
        nftnl_expr* e = add("lookup");
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m.map.c_str());
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
        nat(reg32(awords_), false);
    }
    void operator()(const DnatAffinity& m) {
        address(Field::saddr);
        nftnl_expr* e = add("lookup");
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m.map.c_str());
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
        nat(reg32(awords_), false);
    }
    void nat(uint32_t proto_reg, bool flag_proto) {
        nftnl_expr* e = add("nat");
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, six_ ? NFPROTO_IPV6 : NFPROTO_IPV4);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg);
        if (flag_proto) nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
    }
    void immediate(uint32_t dreg, const void* data, uint32_t len) {
        nftnl_expr* e = add("immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
        nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
    }
    void operator()(const Dnat& m) {
        uint8_t ip[16];
        address_bytes(m.ip, ip);
        uint16_t port = htons(m.port);
        immediate(NFT_REG_1, ip, alen_);
        immediate(NFT_REG_2, &port, 2);
        nat(NFT_REG_2, true);
    }
    void operator()(const Masquerade&) { add("masq"); }
    void operator()(const Reject& m) {
        nftnl_expr* e = add("reject");
        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, m.tcp_reset ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE,
                          m.tcp_reset ? 0 : six_ ? kIcmp6PortUnreachable : kIcmpPortUnreachable);
    }
    void operator()(const Verdict& v) {
        nftnl_expr* e = add("immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        switch (v.kind) {
            case Verdict::Kind::accept: nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT); break;
            case Verdict::Kind::drop: nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP); break;
            case Verdict::Kind::ret: nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(NFT_RETURN)); break;
            case Verdict::Kind::jump:
            case Verdict::Kind::go:
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT,
                                   static_cast<uint32_t>(v.kind == Verdict::Kind::jump ? NFT_JUMP : NFT_GOTO));
                nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
                break;
        }
    }

    // In nft's TLV layout, so `nft list` shows it as the rule's comment.
    void operator()(const Comment& c) {
        std::unique_ptr<nftnl_udata_buf, decltype(&nftnl_udata_buf_free)> ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN),
                                                                            nftnl_udata_buf_free);
        nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, c.text.c_str());
        nftnl_rule_set_data(r_, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
    }

private:
    nftnl_rule* r_;
    const bool six_;
    const uint32_t alen_;    // address bytes
    const uint32_t awords_;  // ... in 32-bit registers
};

}  // namespace

void lower_expr(const Expr& e, nftnl_rule* r, Family f) {
    Lowering l(r, f);
    std::visit(l, e);
}

}  // namespace nfgate::nft

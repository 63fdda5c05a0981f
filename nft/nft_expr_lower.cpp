#include "nft/nft_expr_lower.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_synproxy.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/udata.h>

#include <memory>

#include "nft/nft_handles.hpp"

namespace nfgate::nft {
namespace {

// IPv4 header offsets of the source and destination address.
constexpr uint32_t kSaddrOffset = 12;
constexpr uint32_t kDaddrOffset = 16;
// Transport header offsets of the source and destination port (same for TCP, UDP, SCTP).
constexpr uint32_t kSportOffset = 0;
constexpr uint32_t kDportOffset = 2;
constexpr uint32_t kCtStatusDnat = 0x20;  // IPS_DST_NAT
constexpr uint32_t kIcmpPortUnreachable = 3;
constexpr uint8_t kCtDirOriginal = 0;  // IP_CT_DIR_ORIGINAL
constexpr uint32_t kTcpFlagsOffset = 13;
constexpr uint32_t kTcpFinSynRstAck = 0x17;
constexpr uint32_t kTcpSyn = 0x02;

class Lowering {
public:
    explicit Lowering(nftnl_rule* r) : r_(r) {}

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
    void address(Field f) { payload(NFT_PAYLOAD_NETWORK_HEADER, f == Field::saddr ? kSaddrOffset : kDaddrOffset, 4, NFT_REG_1); }

    // nft loads only the whole bytes a byte-aligned prefix covers, and masks otherwise.
    void operator()(const MatchCidr& m) {
        uint32_t op = m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ;
        uint32_t net = htonl(m.cidr.addr);
        uint32_t off = m.field == Field::saddr ? kSaddrOffset : kDaddrOffset;
        if (m.cidr.len % 8 == 0) {
            payload(NFT_PAYLOAD_NETWORK_HEADER, off, m.cidr.len / 8, NFT_REG_1);
            cmp(op, &net, m.cidr.len / 8);
        } else {
            payload(NFT_PAYLOAD_NETWORK_HEADER, off, 4, NFT_REG_1);
            bitwise(htonl(m.cidr.mask()), 0);
            cmp(op, &net, 4);
        }
    }
    void operator()(const MatchSet& m) {
        if (m.field == Field::saddr_daddr) {
            // A concatenation as nft lays it out: each member in its own 4-byte register.
            payload(NFT_PAYLOAD_NETWORK_HEADER, kSaddrOffset, 4, NFT_REG_1);
            payload(NFT_PAYLOAD_NETWORK_HEADER, kDaddrOffset, 4, NFT_REG32_01);
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
        payload(NFT_PAYLOAD_NETWORK_HEADER, kDaddrOffset, 4, NFT_REG_1);
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, NFT_REG32_01);
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
        ct_original(NFT_CT_DST_IP, NFT_REG_1);
        meta_load(NFT_META_L4PROTO, NFT_REG32_01);
        ct_original(NFT_CT_PROTO_DST, NFT_REG32_02);
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
        payload(NFT_PAYLOAD_NETWORK_HEADER, kDaddrOffset, 4, NFT_REG_1);
        meta_load(NFT_META_L4PROTO, NFT_REG32_01);
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, NFT_REG32_02);
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
        uint32_t ip = htonl(m.ip);
        uint16_t port = htons(m.port);
        immediate(NFT_REG_2, &ip, 4);
        immediate(NFT_REG32_05, &port, 2);
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
        payload(NFT_PAYLOAD_NETWORK_HEADER, kDaddrOffset, 4, NFT_REG_1);
        meta_load(NFT_META_L4PROTO, NFT_REG32_01);
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, NFT_REG32_02);
        payload(NFT_PAYLOAD_NETWORK_HEADER, kSaddrOffset, 4, NFT_REG_3);
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, kSportOffset, 2, NFT_REG32_09);
        nftnl_expr* h = add("hash");
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_SREG, NFT_REG_3);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_DREG, NFT_REG32_03);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_LEN, 8);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_MODULUS, m.count);
        nftnl_expr_set_u32(h, NFTNL_EXPR_HASH_SEED, 0);
        nftnl_expr* e = add("lookup");
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m.map.c_str());
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
        nat(NFT_REG32_01, false);
    }
    void operator()(const DnatAffinity& m) {
        address(Field::saddr);
        nftnl_expr* e = add("lookup");
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m.map.c_str());
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
        nat(NFT_REG32_01, false);
    }
    void nat(uint32_t proto_reg, bool flag_proto) {
        nftnl_expr* e = add("nat");
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
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
        uint32_t ip = htonl(m.ip);
        uint16_t port = htons(m.port);
        immediate(NFT_REG_1, &ip, 4);
        immediate(NFT_REG_2, &port, 2);
        nat(NFT_REG_2, true);
    }
    void operator()(const Masquerade&) { add("masq"); }
    void operator()(const Reject& m) {
        nftnl_expr* e = add("reject");
        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, m.tcp_reset ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, m.tcp_reset ? 0 : kIcmpPortUnreachable);
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
};

}  // namespace

void lower_expr(const Expr& e, nftnl_rule* r) {
    Lowering l(r);
    std::visit(l, e);
}

}  // namespace nfgate::nft

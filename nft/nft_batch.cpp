#include "nft/nft_batch.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>
#include <memory>
#include <vector>

#include "nft/nft_expr_lower.hpp"
#include "nft/nft_handles.hpp"
#include "nft/nft_text.hpp"

namespace nfgate::nft {
namespace {

// nft's datatype numbers (the key and data types the kernel stores for `nft list`), and how
// nft packs a concatenation of them: each member shifted in by 6 bits.
constexpr uint32_t kTypeInteger = 4;
constexpr uint32_t kTypeIpv4Addr = 7;
constexpr uint32_t kTypeIpv6Addr = 8;
constexpr uint32_t kTypeInetProto = 12;
constexpr uint32_t kTypeInetService = 13;
constexpr uint32_t concat(uint32_t a, uint32_t b) { return a << 6 | b; }

// Room kept free before each message; element messages are cut well below it.
constexpr size_t kMessageRoom = 256 * 1024;
constexpr size_t kElemBytesPerMessage = 48 * 1024;
// Under the 16-bit length of the message's element-list attribute, with room for the rest.
constexpr size_t kMaxElemMessage = 65000;

uint32_t hook_number(Hook h) {
    switch (h) {
        case Hook::prerouting: return NF_INET_PRE_ROUTING;
        case Hook::input: return NF_INET_LOCAL_IN;
        case Hook::forward: return NF_INET_FORWARD;
        case Hook::output: return NF_INET_LOCAL_OUT;
        case Hook::postrouting: return NF_INET_POST_ROUTING;
    }
    return 0;
}

// nft's numbering in set user data (stable: nft reads back what older versions wrote):
// expression kinds, payload protocol descriptions and their fields.
constexpr uint32_t kNftExprPayload = 7;
constexpr uint32_t kNftExprMeta = 9;
constexpr uint32_t kNftExprConcat = 13;
constexpr uint32_t kNftExprNumgen = 23;
constexpr uint32_t kNftProtoTh = 11;
constexpr uint32_t kNftProtoIp = 12;
constexpr uint32_t kNftProtoIp6 = 13;
constexpr uint32_t kNftIpDaddr = 12;
constexpr uint32_t kNftIp6Daddr = 9;
constexpr uint32_t kNftThDport = 2;

using UdataPtr = std::unique_ptr<nftnl_udata_buf, FreeWith<nftnl_udata_buf_free>>;

// One member of a typeof concatenation: its expression kind and that expression's own fields.
struct TypeofMember {
    uint32_t kind;
    std::vector<uint32_t> fields;
};
TypeofMember payload_member(uint32_t proto, uint32_t field) { return {kNftExprPayload, {proto, field}}; }
TypeofMember meta_member(uint32_t key) { return {kNftExprMeta, {key}}; }
TypeofMember numgen_member() { return {kNftExprNumgen, {NFT_NG_RANDOM, 1, 0}}; }  // random, mod 1, offset 0

void typeof_concat(nftnl_udata_buf* b, uint8_t attr, const std::vector<TypeofMember>& members) {
    nftnl_udata* outer = nftnl_udata_nest_start(b, attr);
    nftnl_udata_put_u32(b, 0, kNftExprConcat);  // the expression kind
    nftnl_udata* data = nftnl_udata_nest_start(b, 1);  // its data: one nest per member
    for (size_t i = 0; i < members.size(); ++i) {
        nftnl_udata* m = nftnl_udata_nest_start(b, static_cast<uint8_t>(i));
        nftnl_udata_put_u32(b, 0, members[i].kind);
        nftnl_udata* f = nftnl_udata_nest_start(b, 1);
        for (size_t k = 0; k < members[i].fields.size(); ++k)
            nftnl_udata_put_u32(b, static_cast<uint8_t>(k), members[i].fields[k]);
        nftnl_udata_nest_end(b, f);
        nftnl_udata_nest_end(b, m);
    }
    nftnl_udata_nest_end(b, data);
    nftnl_udata_nest_end(b, outer);
}

class Builder {
public:
    Builder(const Plan& p, uint32_t first_seq) : plan_(p) {
        batch_.first_seq = first_seq;
        seq_ = first_seq;
    }

    Batch run() {
        nftnl_batch_begin(room(), seq_++);
        commit("batch begin");
        for (const auto& op : plan_.ops) emit(op);
        nftnl_batch_end(room(), seq_++);
        commit("batch end");
        batch_.buf.resize(used_);
        batch_.detail = [rules = std::move(rules_), f = plan_.family](uint32_t i) {
            return i < rules.size() && rules[i] != nullptr ? rule_text(*rules[i], f) : std::string();
        };
        return std::move(batch_);
    }

private:
    char* room() {
        if (batch_.buf.size() - used_ < kMessageRoom) batch_.buf.resize(std::max(batch_.buf.size() * 2, used_ + kMessageRoom));
        return batch_.buf.data() + used_;
    }

    nlmsghdr* header(uint16_t type, uint16_t flags) {
        return nftnl_nlmsg_build_hdr(room(), type, six() ? NFPROTO_IPV6 : NFPROTO_IPV4, flags | NLM_F_ACK, seq_++);
    }

    // Closes the message just built: it becomes part of the batch under its description.
    void commit(std::string what) {
        auto* nlh = reinterpret_cast<nlmsghdr*>(batch_.buf.data() + used_);
        if (nlh->nlmsg_flags & NLM_F_ACK) ++batch_.acks_expected;
        used_ += NLMSG_ALIGN(nlh->nlmsg_len);
        batch_.what.push_back(std::move(what));
    }

    void emit(const Op& op) {
        switch (op.kind) {
            case OpKind::add_table: return table(NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table ");
            case OpKind::delete_table: return table(NFT_MSG_DELTABLE, 0, "delete table ");
            case OpKind::add_chain: return chain(*op.chain, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, "add chain ");
            case OpKind::delete_chain: return chain(*op.chain, NFT_MSG_DELCHAIN, 0, "delete chain ");
            case OpKind::flush_chain: return flush(*op.chain);
            case OpKind::add_set: return set(*op.set, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, "add set ");
            case OpKind::delete_set: return set(*op.set, NFT_MSG_DELSET, 0, "delete set ");
            case OpKind::add_elems: return elems(*op.set, op.elems, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, "add");
            case OpKind::delete_elems: return elems(*op.set, op.elems, NFT_MSG_DELSETELEM, 0, "delete");
            case OpKind::add_rule: return rule(*op.chain, *op.rule);
            case OpKind::add_counter: return counter(*op.counter, NFT_MSG_NEWOBJ, NLM_F_CREATE | NLM_F_EXCL, "add counter ");
            case OpKind::delete_counter: return counter(*op.counter, NFT_MSG_DELOBJ, 0, "delete counter ");
        }
    }

    void table(uint16_t type, uint16_t flags, const char* verb) {
        TablePtr t(nftnl_table_alloc());
        nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, plan_.table.c_str());
        nftnl_table_nlmsg_build_payload(header(type, flags), t.get());
        commit(verb + plan_.table);
    }

    void counter(const std::string& name, uint16_t type, uint16_t flags, const char* verb) {
        std::unique_ptr<nftnl_obj, FreeWith<nftnl_obj_free>> o(nftnl_obj_alloc());
        nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, plan_.table.c_str());
        nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, name.c_str());
        nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
        nftnl_obj_nlmsg_build_payload(header(type, flags), o.get());
        commit(verb + name);
    }

    ChainPtr chain_object(const Chain& c) {
        ChainPtr ch(nftnl_chain_alloc());
        nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, plan_.table.c_str());
        nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
        return ch;
    }

    void chain(const Chain& c, uint16_t type, uint16_t flags, const char* verb) {
        ChainPtr ch = chain_object(c);
        if (c.base && type == NFT_MSG_NEWCHAIN) {
            nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, hook_number(c.base->hook));
            nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, c.base->priority);
            nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, c.base->type == ChainType::nat ? "nat" : "filter");
            nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
        }
        nftnl_chain_nlmsg_build_payload(header(type, flags), ch.get());
        commit(verb + c.name);
    }

    // A rule deletion that names only the chain removes every rule in it.
    void flush(const Chain& c) {
        RulePtr r(nftnl_rule_alloc());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, plan_.table.c_str());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, c.name.c_str());
        nftnl_rule_nlmsg_build_payload(header(NFT_MSG_DELRULE, 0), r.get());
        commit("flush chain " + c.name);
    }

    SetPtr set_object(const std::string& name) {
        SetPtr s(nftnl_set_alloc());
        nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, plan_.table.c_str());
        nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
        return s;
    }

    void set(const Set& st, uint16_t type, uint16_t flags, const char* verb) {
        SetPtr s = set_object(st.name);
        // The kernel wants a batch-local id on every new set, named or not.
        if (type == NFT_MSG_NEWSET) {
            nftnl_set_set_u32(s.get(), NFTNL_SET_ID, ++last_set_id_);
            describe_set(st, s.get());
        }
        nftnl_set_nlmsg_build_payload(header(type, flags), s.get());
        commit(verb + st.name);
    }

    bool six() const { return plan_.family == Family::ip6; }
    uint32_t addr_type() const { return six() ? kTypeIpv6Addr : kTypeIpv4Addr; }
    uint32_t addr_len() const { return six() ? 16 : 4; }

    void describe_set(const Set& st, nftnl_set* s) const {
        uint32_t set_flags = 0;
        const uint32_t a = addr_type(), alen = addr_len();
        switch (st.key) {
            case KeyKind::addr:
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, a);
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, alen);
                break;
            case KeyKind::addr_proto_port:
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat(concat(a, kTypeInetProto), kTypeInetService));
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, alen + 8);
                break;
            case KeyKind::proto_port:
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat(kTypeInetProto, kTypeInetService));
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 8);
                break;
            case KeyKind::addr_pair:
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat(a, a));
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 2 * alen);
                break;
            case KeyKind::addr_port:
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat(a, kTypeInetService));
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, alen + 4);
                break;
            case KeyKind::addr_proto_port_index:
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat(concat(concat(a, kTypeInetProto), kTypeInetService), kTypeInteger));
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, alen + 12);
                set_flags |= NFT_SET_MAP;
                nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, concat(a, kTypeInetService));
                nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, alen + 4);
                set_endpoint_map_typeof(s);
                break;
        }
        if (st.verdict_map) {
            set_flags |= NFT_SET_MAP;
            nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
        }
        // No size: nft's default (65535) makes the kernel preallocate ~1 MiB of hash buckets per
        // map, which thousands of affinity Services cannot afford; unsized, the table starts small
        // and grows with the clients actually seen.
        if (st.meter) {
            set_flags |= NFT_SET_TIMEOUT | NFT_SET_EVAL;
            nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, uint64_t{st.timeout_s} * 1000);
        } else if (st.timeout_s != 0) {
            set_flags |= NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_EVAL;
            nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, uint64_t{st.timeout_s} * 1000);
            nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, concat(a, kTypeInetService));
            nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, alen + 4);
        }
        if (st.size != 0) nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, st.size);
        if (st.counter) nftnl_set_add_expr(s, nftnl_expr_alloc("counter"));  // the set owns it
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS, set_flags);
    }

    // The typeof declaration of the endpoint map as nft records it in the set's user data: the
    // kernel ignores it, `nft list` needs it to print the integer member of the key.
    void set_endpoint_map_typeof(nftnl_set* s) const {
        const uint32_t proto = six() ? kNftProtoIp6 : kNftProtoIp, daddr = six() ? kNftIp6Daddr : kNftIpDaddr;
        UdataPtr ud(nftnl_udata_buf_alloc(256));
        nftnl_udata_buf* b = ud.get();
        nftnl_udata_put_u32(b, NFTNL_UDATA_SET_KEYBYTEORDER, 0);
        nftnl_udata_put_u32(b, NFTNL_UDATA_SET_DATABYTEORDER, 0);
        typeof_concat(b, NFTNL_UDATA_SET_KEY_TYPEOF,
                      {payload_member(proto, daddr), meta_member(NFT_META_L4PROTO),
                       payload_member(kNftProtoTh, kNftThDport), numgen_member()});
        typeof_concat(b, NFTNL_UDATA_SET_DATA_TYPEOF,
                      {payload_member(proto, daddr), payload_member(kNftProtoTh, kNftThDport)});
        nftnl_udata_put_u32(b, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
        nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(b), nftnl_udata_buf_len(b));
    }

    // Keys are laid out as the kernel's registers hold them: every member padded to 4 bytes,
    // addresses and ports in network order.
    struct KeyBytes {
        uint8_t b[48] = {};
        size_t n = 0;
        void put(const void* p, size_t len, size_t room) {
            std::memcpy(b + n, p, len);
            n += room;
        }
        void addr(const Addr& a, bool six) {
            if (six) return put(a.v6.data(), 16, 16);
            const uint32_t be = htonl(a.v4);
            put(&be, 4, 4);
        }
        void proto(Proto p) {
            const uint8_t v = static_cast<uint8_t>(p);
            put(&v, 1, 4);
        }
        void port(uint16_t host) {
            const uint16_t be = htons(host);
            put(&be, 2, 4);
        }
    };

    KeyBytes elem_key(const Set& st, const SetElem& e) const {
        KeyBytes k;
        const bool v6 = six();
        switch (st.key) {
            case KeyKind::addr: k.addr(e.addr, v6); break;
            case KeyKind::addr_proto_port:
                k.addr(e.addr, v6);
                k.proto(e.proto);
                k.port(e.port);
                break;
            case KeyKind::proto_port:
                k.proto(e.proto);
                k.port(e.port);
                break;
            case KeyKind::addr_port:
                k.addr(e.addr, v6);
                k.port(e.port);
                break;
            case KeyKind::addr_pair:
                k.addr(e.addr, v6);
                k.addr(e.to.ip, v6);
                break;
            case KeyKind::addr_proto_port_index:
                k.addr(e.addr, v6);
                k.proto(e.proto);
                k.port(e.port);
                k.put(&e.index, 4, 4);  // numgen's value, in host order
                break;
        }
        return k;
    }

    // A rough size of one element in a message, for cutting long lists into messages.
    static size_t elem_bytes(const Set& st, const SetElem& e, uint16_t type) {
        size_t b = 64 + e.goto_chain.size();
        if (type == NFT_MSG_NEWSETELEM && st.counter) b += 48;
        if (type == NFT_MSG_NEWSETELEM && st.key == KeyKind::addr_proto_port_index) b += 16;
        return b;
    }

    // Elements [from, to) of `list` as one message at the batch's end (not committed). The
    // message is what nftnl_set_elems_nlmsg_build_payload() makes of a set holding them, built
    // through one element object refilled for each (no allocation per element).
    nlmsghdr* elems_message(const Set& st, const std::vector<SetElem>& list, size_t from, size_t to, uint16_t type,
                            uint16_t flags) {
        nlmsghdr* nlh = header(type, flags);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, st.name.c_str());
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, plan_.table.c_str());
        if (from == to) return nlh;
        const bool adding = type == NFT_MSG_NEWSETELEM;
        ElemPtr el(nftnl_set_elem_alloc());
        if (st.verdict_map && adding) nftnl_set_elem_set_u32(el.get(), NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(NFT_GOTO));
        if (st.counter && adding) nftnl_set_elem_add_expr(el.get(), nftnl_expr_alloc("counter"));  // the element owns it
        nlattr* elements = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
        for (size_t i = from; i < to; ++i) {
            const SetElem& e = list[i];
            const KeyBytes key = elem_key(st, e);
            nftnl_set_elem_set(el.get(), NFTNL_SET_ELEM_KEY, key.b, key.n);
            if (st.verdict_map && adding) nftnl_set_elem_set_str(el.get(), NFTNL_SET_ELEM_CHAIN, e.goto_chain.c_str());
            if (st.key == KeyKind::addr_proto_port_index && adding) {
                KeyBytes data;
                data.addr(e.to.ip, six());
                data.port(e.to.port);
                nftnl_set_elem_set(el.get(), NFTNL_SET_ELEM_DATA, data.b, data.n);
            }
            nftnl_set_elem_nlmsg_build(nlh, el.get(), static_cast<int>(i - from + 1));
        }
        mnl_attr_nest_end(nlh, elements);
        return nlh;
    }

    // Long lists go in several messages. The element list is one netlink attribute, whose
    // length has 16 bits: a message that came out longer than that is built again with half as
    // many elements (the size estimate is rough; the kernel would refuse it with ERANGE).
    void elems(const Set& st, const std::vector<SetElem>& list, uint16_t type, uint16_t flags, const char* verb) {
        size_t i = 0;
        while (i < list.size()) {
            size_t n = 0, bytes = 0;
            while (i + n < list.size() && bytes < kElemBytesPerMessage) bytes += elem_bytes(st, list[i + n++], type);
            while (elems_message(st, list, i, i + n, type, flags)->nlmsg_len > kMaxElemMessage && n > 1) {
                --seq_;  // the same message again, in the same place
                n = (n + 1) / 2;
            }
            commit(elems_text(st, list, i, i + n, verb));
            i += n;
        }
    }

    std::string elems_text(const Set& st, const std::vector<SetElem>& list, size_t from, size_t to,
                           const char* verb) const {
        std::string out = std::string(verb) + " element" + (to - from > 1 ? "s " : " ") + st.name + " { ";
        for (size_t i = from; i < to && i < from + 3; ++i) out += (i > from ? ", " : "") + elem_text(st, list[i], plan_.family);
        if (to - from > 3) out += ", ... (" + std::to_string(to - from) + " in this message)";
        return out + " }";
    }

    void rule(const Chain& c, const Rule& r) {
        RulePtr nr(nftnl_rule_alloc());
        nftnl_rule_set_str(nr.get(), NFTNL_RULE_TABLE, plan_.table.c_str());
        nftnl_rule_set_str(nr.get(), NFTNL_RULE_CHAIN, c.name.c_str());
        for (const auto& e : r.exprs) lower_expr(e, nr.get(), plan_.family);
        nftnl_rule_nlmsg_build_payload(header(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), nr.get());
        rules_.resize(batch_.what.size() + 1, nullptr);
        rules_.back() = &r;
        commit("add rule to chain " + c.name);
    }

    const Plan& plan_;
    Batch batch_;
    std::vector<const Rule*> rules_;  // per message index: the rule it adds (Batch::detail)
    size_t used_ = 0;
    uint32_t seq_ = 0;
    uint32_t last_set_id_ = 0;
};

}  // namespace

Batch build_batch(const Plan& p, uint32_t first_seq) { return Builder(p, first_seq).run(); }

}  // namespace nfgate::nft

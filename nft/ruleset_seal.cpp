#include "nft/ruleset_seal.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "nft/netlink.hpp"
#include "nft/nft_text.hpp"

namespace nfgate::nft {

namespace {

using RulePtr = std::unique_ptr<nftnl_rule, decltype([](nftnl_rule* r) { nftnl_rule_free(r); })>;

int comment_of(const nftnl_udata* attr, void* data) {
    if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && nftnl_udata_len(attr) > 0) {
        const char* text = static_cast<const char*>(nftnl_udata_get(attr));
        static_cast<std::string*>(data)->assign(text, strnlen(text, nftnl_udata_len(attr)));
    }
    return MNL_CB_OK;
}

int take_rule(const nlmsghdr* nlh, void* data) {
    RulePtr r(nftnl_rule_alloc());
    if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return MNL_CB_OK;
    uint32_t len = 0;
    const void* ud = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len);
    if (ud != nullptr) nftnl_udata_parse(ud, len, comment_of, data);
    return MNL_CB_OK;
}

// A 64-bit hash fed a word at a time (FNV-1a's structure over 64-bit words, with a
// multiply-xorshift step): stable across runs and builds (no std::hash, no padding bytes).
struct WordHash {
    uint64_t h = 1469598103934665603ull;
    void word(uint64_t w) {
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    void bytes(const void* p, size_t n) {
        const auto* b = static_cast<const unsigned char*>(p);
        word(n);
        for (; n >= 8; n -= 8, b += 8) {
            uint64_t w;
            std::memcpy(&w, b, 8);
            word(w);
        }
        uint64_t tail = 0;
        std::memcpy(&tail, b, n);
        word(tail);
    }
    void text(const std::string& s) { bytes(s.data(), s.size()); }
    void addr(const Addr& a) {
        word(a.v4);
        bytes(a.v6.data(), 16);
    }
};

}  // namespace

// The declarations and rules as `nft -f` text, the elements (nearly all of a big ruleset) field
// by field: the same fingerprint for the same ruleset, at a fraction of the text's cost.
std::string ruleset_fingerprint(const Ruleset& rs) {
    WordHash f;
    f.text(to_nft_text_without_elements(rs));
    for (const Set& s : rs.sets) {
        f.text(s.name);
        f.word(s.elems.size());
        for (const SetElem& e : s.elems) {
            f.addr(e.addr);
            f.word(uint64_t{static_cast<uint8_t>(e.proto)} << 48 | uint64_t{e.port} << 32 | e.index);
            f.text(e.goto_chain);
            f.addr(e.to.ip);
            f.word(e.to.port);
        }
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(f.h));
    return std::string("nfgate ruleset ") + hex;
}

bool read_seal(Family family, std::string& fingerprint, std::string& err) {
    fingerprint.clear();
    std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req.data(), NFT_MSG_GETRULE, family == Family::ip6 ? NFPROTO_IPV6 : NFPROTO_IPV4,
                                          NLM_F_DUMP | NLM_F_ACK,
                                          static_cast<uint32_t>(time(nullptr)));
    RulePtr r(nftnl_rule_alloc());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTableName);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, kSealChain);
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    std::string qerr;
    const int ret = query(nlh, take_rule, &fingerprint, MNL_SOCKET_BUFFER_SIZE, qerr);
    if (!qerr.empty() || (ret < 0 && errno != ENOENT)) {  // no table or no chain: nothing sealed
        err = "read the seal: " + (qerr.empty() ? std::string(std::strerror(errno)) : qerr);
        return false;
    }
    if (ret < 0) fingerprint.clear();
    return true;
}

void Seal::append(Plan& p, const std::string& fingerprint, bool create) {
    rule = Rule{{Verdict{Verdict::Kind::ret, {}}, Comment{fingerprint}}};
    if (create) p.ops.push_back(Op{OpKind::add_chain, nullptr, &chain, nullptr, {}});
    else p.ops.push_back(Op{OpKind::flush_chain, nullptr, &chain, nullptr, {}});
    if (!fingerprint.empty()) p.ops.push_back(Op{OpKind::add_rule, nullptr, &chain, &rule, {}});
}

}  // namespace nfgate::nft

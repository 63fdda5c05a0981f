// Owning handles for libnftnl objects: each freed by its own free function.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <memory>

namespace nfgate::nft {

template <auto Free>
struct FreeWith {
    template <class T>
    void operator()(T* p) const { Free(p); }
};

using TablePtr = std::unique_ptr<nftnl_table, FreeWith<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, FreeWith<nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, FreeWith<nftnl_rule_free>>;
using SetPtr = std::unique_ptr<nftnl_set, FreeWith<nftnl_set_free>>;
using ElemPtr = std::unique_ptr<nftnl_set_elem, FreeWith<nftnl_set_elem_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, FreeWith<nftnl_expr_free>>;

}  // namespace nfgate::nft

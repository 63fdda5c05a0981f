// What one batch must do to take the kernel from one Ruleset to another, as an ordered list of
// operations on named objects. Pure: nft_batch.cpp lowers a Plan to netlink messages, the tests
// read it through describe().
#pragma once

#include <string>
#include <vector>

#include "nft/nft_ruleset.hpp"

namespace nfgate::nft {

enum class OpKind : uint8_t {
    add_table,
    delete_table,
    delete_elems,
    flush_chain,
    delete_chain,
    delete_set,
    add_set,
    add_chain,
    add_rule,
    add_elems,
    add_counter,     // a named counter object
    delete_counter,
};

// Points into the Rulesets the plan was made from: they must outlive it.
struct Op {
    OpKind kind;
    const Set* set = nullptr;      // set and element operations
    const Chain* chain = nullptr;  // chain operations and add_rule
    const Rule* rule = nullptr;    // add_rule
    std::vector<SetElem> elems;    // add_elems / delete_elems
    const std::string* counter = nullptr;  // add_counter / delete_counter: its name
};

struct Plan {
    std::string table = kTableName;
    Family family = Family::ip;
    std::vector<Op> ops;

    bool empty() const { return ops.empty(); }
    // One line per operation and element: "add chain svc-...", "delete element service-ips 10.96.0.1 . tcp . 80 : goto svc-...".
    std::vector<std::string> describe() const;
};

// Replace whatever table exists with `rs`: add table, delete table (so a missing table is no
// error), add table, then everything in dependency order.
Plan full_plan(const Ruleset& rs);

// Only what differs between `old` and `now`; objects that did not change are not touched.
Plan diff_plan(const Ruleset& old, const Ruleset& now);

}  // namespace nfgate::nft

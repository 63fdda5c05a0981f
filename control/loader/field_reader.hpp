// Typed reads of YAML fields that report every mistake as a Diag naming file, line, object and
// field. Field paths are chained on the stack and only turned into text when an error is made.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "control/loader/diag.hpp"
#include "control/loader/yaml_tree.hpp"
#include "model/model.hpp"

namespace nfgate::loader {

// "spec.ports[1].nodePort" as a chain of links that live on the caller's stack.
struct FieldPath {
    const FieldPath* parent = nullptr;
    std::string_view key;  // empty for a list index link
    int index = -1;

    FieldPath child(std::string_view k) const { return FieldPath{this, k, -1}; }
    FieldPath at(size_t i) const { return FieldPath{this, {}, static_cast<int>(i)}; }
    std::string str() const;
};

// Where findings go, and which file/object they are about.
class Reporter {
public:
    Reporter(const std::string& file, std::vector<Diag>& errors, std::vector<Diag>& notices)
        : file_(&file), errors_(errors), notices_(notices) {}

    // `file` must outlive the reports made until the next set_file.
    void set_file(const std::string& file) { file_ = &file; }

    void set_object(std::string object) { object_ = std::move(object); }
    const std::string& object() const { return object_; }
    const std::string& file() const { return *file_; }
    size_t error_count() const { return errors_.size(); }

    void error(int line, const FieldPath& field, std::string message);
    void error(int line, std::string field, std::string message);
    void notice(int line, std::string message);

private:
    const std::string* file_;
    std::string object_;
    std::vector<Diag>& errors_;
    std::vector<Diag>& notices_;
};

// Each read_* checks the node's type and value; on a bad value it reports and returns false,
// leaving `out` untouched. An absent or null node returns false without a report, so callers
// keep their default (use require() where a field must be present).
bool require(Reporter& r, YNode n, int parent_line, const FieldPath& f, std::string_view want);
bool read_string(Reporter& r, YNode n, const FieldPath& f, std::string& out);
bool read_uint(Reporter& r, YNode n, const FieldPath& f, uint64_t min, uint64_t max, uint64_t& out);
bool read_bool(Reporter& r, YNode n, const FieldPath& f, bool& out);
bool read_ipv4(Reporter& r, YNode n, const FieldPath& f, uint32_t& out);
bool read_cidr(Reporter& r, YNode n, const FieldPath& f, Cidr& out);
bool read_ifaddr(Reporter& r, YNode n, const FieldPath& f, IfAddr& out);
// Either family: IPv4 text lands in the first list, IPv6 text in the second. Reports text that
// is neither, naming both forms.
bool read_ip_any(Reporter& r, YNode n, const FieldPath& f, std::vector<uint32_t>& v4, std::vector<Ip6>& v6);
bool read_cidr_any(Reporter& r, YNode n, const FieldPath& f, std::vector<Cidr>& v4, std::vector<Cidr6>& v6);
bool read_ifaddr_any(Reporter& r, YNode n, const FieldPath& f, std::vector<IfAddr>& v4, std::vector<IfAddr6>& v6);
// One of `choices`; reports the valid ones otherwise. `out` is the index of the match.
bool read_enum(Reporter& r, YNode n, const FieldPath& f, std::initializer_list<std::string_view> choices,
               size_t& out);

// True if `n` is a list, or null/absent (an empty list); anything else is reported.
bool expect_list(Reporter& r, YNode n, const FieldPath& f);

// Calls `each(item, item_path)` for every item of a list (see expect_list).
template <class Each>
bool for_each_item(Reporter& r, YNode n, const FieldPath& f, Each&& each) {
    if (!expect_list(r, n, f)) return false;
    size_t count = n.is_seq() ? n.size() : 0;
    for (size_t i = 0; i < count; ++i) {
        FieldPath p = f.at(i);
        each(n.item(i), p);
    }
    return true;
}
// True if `n` is a mapping (absent/null: false, silently); anything else is reported.
bool expect_map(Reporter& r, YNode n, const FieldPath& f);
// Reports every key of mapping `n` not in `valid`, listing the valid ones.
void reject_unknown_keys(Reporter& r, YNode n, const FieldPath& f, std::initializer_list<std::string_view> valid);

bool looks_like_ipv6(std::string_view s);

}  // namespace nfgate::loader

// A read-only tree of YAML nodes with line numbers, built from libyaml's event parser.
// All nodes and scalar text live in two flat arrays: parsing a 10k-Service manifest makes
// no allocation per node. JSON is YAML, so `kubectl -o json` output parses the same way.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nfgate::loader {

class YamlTree;

// A handle to one node; a default-constructed one stands for "absent".
class YNode {
public:
    YNode() = default;
    YNode(const YamlTree* tree, uint32_t index) : tree_(tree), index_(index) {}

    bool present() const { return tree_ != nullptr; }
    bool is_map() const;
    bool is_seq() const;
    bool is_scalar() const;
    // Absent, or a plain scalar that YAML reads as null ("", "~", "null").
    bool is_null() const;
    // A quoted scalar is always a string; only plain scalars are numbers or booleans.
    bool is_quoted() const;
    int line() const;
    std::string_view str() const;  // scalar text; empty for collections

    size_t size() const;                    // sequence items or mapping pairs
    YNode item(size_t i) const;             // sequence item
    YNode key(size_t i) const;              // mapping key of pair i
    YNode value(size_t i) const;            // mapping value of pair i
    YNode get(std::string_view key) const;  // mapping lookup; absent if none or not a map

    // "a mapping", "a list", "the string \"x\"", "the number 5", "null": for type errors.
    std::string describe() const;

private:
    const YamlTree* tree_ = nullptr;
    uint32_t index_ = 0;
};

class YamlTree {
public:
    // Parses every document in `text`. On malformed input returns false with libyaml's
    // message and the 1-based line it points at. Text that is one JSON value (as
    // `kubectl -o json` prints) goes through a direct JSON reader first: libyaml's scanner
    // reads JSON at a third of the speed. Anything that reader refuses goes to libyaml,
    // which parses it as YAML or reports the error.
    // `first_line` is the line number of text's first line, for a text cut out of a larger file.
    // Text nested deeper than kMaxNesting flow collections is refused before parsing.
    bool parse(std::string_view text, std::string& error, int& error_line, int first_line = 1);
    static constexpr int kMaxNesting = 128;

    std::span<const uint32_t> documents() const { return documents_; }

    // A key written twice in one mapping (YAML and JSON alike). kubectl and the API server's
    // strict field validation refuse them, and silently keeping either value would install
    // something the file does not say.
    struct DuplicateKey {
        std::string key;
        int line = 0;        // the second occurrence
        int first_line = 0;  // the first
    };
    // Every mapping of the tree checked once: linear in its size, no recursion.
    std::vector<DuplicateKey> duplicate_keys() const;
    YNode document(size_t i) const { return YNode(this, documents_[i]); }

private:
    friend class YNode;
    friend class JsonReader;
    friend class YamlBuilder;
    bool parse_yaml(std::string_view text, std::string& error, int& error_line, int first_line);
    void clear(size_t text_size);
    enum class Kind : uint8_t { scalar, map, seq };
    struct Node {
        uint32_t first = 0;  // scalar: offset in text_; collection: offset in kids_
        uint32_t count = 0;  // scalar: length; collection: number of kids (2 per map pair)
        uint32_t line = 0;
        Kind kind = Kind::scalar;
        bool quoted = false;
    };

    std::vector<Node> nodes_;
    std::vector<uint32_t> kids_;
    std::string text_;
    std::vector<uint32_t> documents_;
};

}  // namespace nfgate::loader

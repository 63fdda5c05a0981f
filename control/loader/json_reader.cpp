#include "control/loader/json_reader.hpp"

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace nfgate::loader {

namespace {

namespace od = simdjson::ondemand;

// YamlTree's limit: text nested deeper is not JSON for this reader, and YamlTree::parse then
// reports the depth with its line. Also keeps the recursion below bounded.

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// RFC 8259 number grammar: simdjson's on-demand API checks a number only when it is converted,
// and the loader keeps numbers as text (as libyaml hands them over).
bool is_number(std::string_view w) {
    size_t i = 0;
    auto digits = [&] {
        size_t s = i;
        while (i < w.size() && w[i] >= '0' && w[i] <= '9') ++i;
        return i > s;
    };
    if (i < w.size() && w[i] == '-') ++i;
    if (!digits()) return false;
    if (i < w.size() && w[i] == '.') {
        ++i;
        if (!digits()) return false;
    }
    if (i < w.size() && (w[i] == 'e' || w[i] == 'E')) {
        ++i;
        if (i < w.size() && (w[i] == '+' || w[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == w.size();
}

}  // namespace

// Walks simdjson's on-demand document once, in document order, adding one tree node per JSON
// value. While walking, a node's `line` holds its byte offset in the text; one pass over the
// text at the end turns offsets into line numbers (nodes are created in document order, so the
// offsets only grow).
class JsonReader {
public:
    JsonReader(YamlTree& t, const char* base) : t_(t), base_(base) {}

    bool run(od::document& doc, size_t text_size, std::string_view text, int first_line) {
        t_.clear(text_size);
        od::value root;
        // A document whose root is a scalar is not what the caller asked for (see the header).
        od::json_type type;
        if (doc.type().get(type) || (type != od::json_type::object && type != od::json_type::array)) return false;
        uint32_t root_index = 0;
        if (doc.get_value().get(root) || !value(root, root_index, 0)) return false;
        // Anything after the root value (a second value, stray text) is not one JSON value.
        const char* trailing = nullptr;
        if (!doc.current_location().get(trailing)) return false;
        t_.documents_.push_back(root_index);
        number_lines(text, first_line);
        return true;
    }

private:
    using Kind = YamlTree::Kind;

    uint32_t add(Kind kind, bool quoted, const char* at) {
        YamlTree::Node n;
        n.kind = kind;
        n.quoted = quoted;
        n.line = static_cast<uint32_t>(at - base_);
        t_.nodes_.push_back(n);
        return static_cast<uint32_t>(t_.nodes_.size() - 1);
    }

    uint32_t add_text(Kind kind, bool quoted, const char* at, std::string_view text) {
        uint32_t i = add(kind, quoted, at);
        t_.nodes_[i].first = static_cast<uint32_t>(t_.text_.size());
        t_.nodes_[i].count = static_cast<uint32_t>(text.size());
        t_.text_.append(text);
        return i;
    }

    bool value(od::value v, uint32_t& out, int depth) {
        if (depth >= YamlTree::kMaxNesting) return false;
        std::string_view token = v.raw_json_token();
        od::json_type type;
        if (v.type().get(type)) return false;
        const char* at = token.data();
        switch (type) {
            case od::json_type::object: {
                od::object obj;
                return !v.get_object().get(obj) && object(obj, at, out, depth);
            }
            case od::json_type::array: {
                od::array arr;
                return !v.get_array().get(arr) && array(arr, at, out, depth);
            }
            case od::json_type::string: {
                std::string_view s;
                if (v.get_string().get(s)) return false;
                out = add_text(Kind::scalar, true, at, s);
                return true;
            }
            case od::json_type::boolean: {
                bool b;
                if (v.get_bool().get(b)) return false;
                out = add_text(Kind::scalar, false, at, b ? "true" : "false");
                return true;
            }
            case od::json_type::null: {
                bool null = false;
                if (v.is_null().get(null) || !null) return false;
                out = add_text(Kind::scalar, false, at, "null");
                return true;
            }
            case od::json_type::number: {
                std::string_view word = trim_right(token);
                if (!is_number(word)) return false;
                out = add_text(Kind::scalar, false, at, word);
                return true;
            }
        }
        return false;
    }

    // Kids are gathered in pending_ and copied to kids_ in one block at the closing bracket,
    // so each collection's kids are contiguous however deep its children go.
    bool object(od::object& obj, const char* at, uint32_t& out, int depth) {
        out = add(Kind::map, false, at);
        size_t start = pending_.size();
        for (auto field : obj) {
            od::field f;
            if (std::move(field).get(f)) return false;
            // raw() points just past the key's opening quote; read it before unescaped_key(),
            // which consumes the key.
            const char* key_at = f.key().raw() - 1;
            std::string_view key;
            if (f.unescaped_key().get(key)) return false;
            pending_.push_back(add_text(Kind::scalar, true, key_at, key));
            uint32_t kid = 0;
            if (!value(f.value(), kid, depth + 1)) return false;
            pending_.push_back(kid);
        }
        close(out, start);
        return true;
    }

    bool array(od::array& arr, const char* at, uint32_t& out, int depth) {
        out = add(Kind::seq, false, at);
        size_t start = pending_.size();
        for (auto item : arr) {
            od::value v;
            if (std::move(item).get(v)) return false;
            uint32_t kid = 0;
            if (!value(v, kid, depth + 1)) return false;
            pending_.push_back(kid);
        }
        close(out, start);
        return true;
    }

    void close(uint32_t node, size_t start) {
        auto& n = t_.nodes_[node];
        n.first = static_cast<uint32_t>(t_.kids_.size());
        n.count = static_cast<uint32_t>(pending_.size() - start);
        t_.kids_.insert(t_.kids_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(start), pending_.end());
        pending_.resize(start);
    }

    // first_line 0: the text has no lines worth naming (an API object); every node gets 0.
    void number_lines(std::string_view text, int first_line) {
        uint32_t line = static_cast<uint32_t>(first_line);
        size_t pos = 0;
        for (auto& n : t_.nodes_) {
            if (first_line == 0) {
                n.line = 0;
                continue;
            }
            const size_t to = n.line;
            while (pos < to) {
                const void* nl = std::memchr(text.data() + pos, '\n', to - pos);
                if (!nl) {
                    pos = to;
                    break;
                }
                ++line;
                pos = static_cast<size_t>(static_cast<const char*>(nl) - text.data()) + 1;
            }
            n.line = line;
        }
    }

    YamlTree& t_;
    const char* base_;
    std::vector<uint32_t> pending_;
};

bool parse_json(YamlTree& tree, std::string_view text, int first_line) {
    size_t i = 0;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size() || (text[i] != '{' && text[i] != '[')) return false;
    // One parser per thread: its buffers are reused, and large files are parsed on several threads.
    thread_local od::parser parser;
    simdjson::padded_string padded(text);
    od::document doc;
    if (parser.iterate(padded).get(doc)) return false;
    return JsonReader(tree, padded.data()).run(doc, text.size(), std::string_view(padded.data(), text.size()),
                                               first_line);
}

}  // namespace nfgate::loader

#include "control/loader/json_reader.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nfgate::loader {

namespace {

constexpr int kMaxDepth = 256;  // deeper than any Kubernetes object; keeps recursion bounded

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

}  // namespace

class JsonReader {
public:
    JsonReader(YamlTree& t, std::string_view text, int first_line)
        : t_(t), p_(text.data()), end_(text.data() + text.size()), line_(static_cast<uint32_t>(first_line)) {}

    bool run() {
        t_.clear(static_cast<size_t>(end_ - p_));
        skip_space();
        if (p_ == end_ || (*p_ != '{' && *p_ != '[')) return false;
        uint32_t root = 0;
        if (!value(root, 0)) return false;
        skip_space();
        if (p_ != end_) return false;
        t_.documents_.push_back(root);
        return true;
    }

private:
    using Kind = YamlTree::Kind;

    void skip_space() {
        while (p_ != end_ && is_space(*p_)) {
            line_ += *p_ == '\n';
            ++p_;
        }
    }

    uint32_t add(Kind kind, bool quoted) {
        YamlTree::Node n;
        n.kind = kind;
        n.quoted = quoted;
        n.line = line_;
        t_.nodes_.push_back(n);
        return static_cast<uint32_t>(t_.nodes_.size() - 1);
    }

    bool value(uint32_t& out, int depth) {
        skip_space();
        if (p_ == end_ || depth > kMaxDepth) return false;
        switch (*p_) {
            case '{': return collection(out, depth, Kind::map, '}');
            case '[': return collection(out, depth, Kind::seq, ']');
            case '"': return string(out);
            default: return literal(out);
        }
    }

    // Kids are gathered in pending_ and copied to kids_ in one block at the closing bracket,
    // so each collection's kids are contiguous however deep its children go.
    bool collection(uint32_t& out, int depth, Kind kind, char close) {
        out = add(kind, false);
        ++p_;
        size_t start = pending_.size();
        skip_space();
        if (p_ != end_ && *p_ == close) {
            ++p_;
        } else {
            for (;;) {
                uint32_t kid = 0;
                if (kind == Kind::map) {
                    skip_space();
                    if (p_ == end_ || *p_ != '"' || !string(kid)) return false;
                    pending_.push_back(kid);
                    skip_space();
                    if (p_ == end_ || *p_ != ':') return false;
                    ++p_;
                }
                if (!value(kid, depth + 1)) return false;
                pending_.push_back(kid);
                skip_space();
                if (p_ == end_) return false;
                char c = *p_++;
                if (c == close) break;
                if (c != ',') return false;
            }
        }
        auto& n = t_.nodes_[out];
        n.first = static_cast<uint32_t>(t_.kids_.size());
        n.count = static_cast<uint32_t>(pending_.size() - start);
        t_.kids_.insert(t_.kids_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(start), pending_.end());
        pending_.resize(start);
        return true;
    }

    bool string(uint32_t& out) {
        out = add(Kind::scalar, true);
        ++p_;
        std::string& text = t_.text_;
        size_t first = text.size();
        for (;;) {
            const char* run = p_;
            while (p_ != end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
            text.append(run, p_);
            if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return false;
            if (*p_++ == '"') break;
            if (!escape(text)) return false;
        }
        t_.nodes_[out].first = static_cast<uint32_t>(first);
        t_.nodes_[out].count = static_cast<uint32_t>(text.size() - first);
        return true;
    }

    bool hex4(uint32_t& cp) {
        if (end_ - p_ < 4) return false;
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            char c = *p_++;
            cp <<= 4;
            if (c >= '0' && c <= '9') cp |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') cp |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') cp |= static_cast<uint32_t>(c - 'A' + 10);
            else return false;
        }
        return true;
    }

    bool escape(std::string& text) {
        if (p_ == end_) return false;
        char c = *p_++;
        switch (c) {
            case '"': case '\\': case '/': text += c; return true;
            case 'b': text += '\b'; return true;
            case 'f': text += '\f'; return true;
            case 'n': text += '\n'; return true;
            case 'r': text += '\r'; return true;
            case 't': text += '\t'; return true;
            case 'u': break;
            default: return false;
        }
        uint32_t cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xd800 && cp < 0xdc00) {  // a UTF-16 surrogate pair spells one code point
            uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(low) || low < 0xdc00 || low >= 0xe000) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
            return false;
        }
        append_utf8(text, cp);
        return true;
    }

    // Numbers, true, false, null: kept as plain scalar text, as libyaml hands them over.
    bool literal(uint32_t& out) {
        const char* start = p_;
        while (p_ != end_ && !is_space(*p_) && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ':') ++p_;
        std::string_view word(start, static_cast<size_t>(p_ - start));
        if (word.empty()) return false;
        if (word != "true" && word != "false" && word != "null" && !is_number(word)) return false;
        out = add(Kind::scalar, false);
        t_.nodes_[out].first = static_cast<uint32_t>(t_.text_.size());
        t_.nodes_[out].count = static_cast<uint32_t>(word.size());
        t_.text_.append(word);
        return true;
    }

    static bool is_number(std::string_view w) {
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

    YamlTree& t_;
    const char* p_;
    const char* end_;
    uint32_t line_;
    std::vector<uint32_t> pending_;
};

bool parse_json(YamlTree& tree, std::string_view text, int first_line) {
    size_t i = 0;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size() || (text[i] != '{' && text[i] != '[')) return false;
    return JsonReader(tree, text, first_line).run();
}

}  // namespace nfgate::loader

#include "control/loader/yaml_tree.hpp"

#include "control/loader/json_reader.hpp"

#include <yaml.h>

#include <algorithm>
#include <memory>
#include <unordered_map>

namespace nfgate::loader {

namespace {

struct ParserDeleter {
    void operator()(yaml_parser_t* p) const {
        yaml_parser_delete(p);
        delete p;
    }
};

struct EventGuard {
    yaml_event_t ev{};
    ~EventGuard() { yaml_event_delete(&ev); }
};

std::string_view as_view(const yaml_char_t* s, size_t n) {
    return {reinterpret_cast<const char*>(s), n};
}

}  // namespace

void YamlTree::clear(size_t text_size) {
    nodes_.clear();
    kids_.clear();
    text_.clear();
    documents_.clear();
    // Nodes refer to text_ by offset, so growth is safe; the reserves only avoid copying.
    text_.reserve(text_size);
    nodes_.reserve(text_size / 16);
    kids_.reserve(text_size / 16);
}

namespace {

// libyaml's time grows with the square of the nesting depth (100k brackets: minutes); no
// Kubernetes object nests beyond a few dozen levels, so deeper text is refused before parsing.
// Counts [ and { outside quoted strings and comments (flow collections: YAML and JSON alike).
bool nesting_within(std::string_view text, int limit, int first_line, int& line) {
    int depth = 0;
    line = first_line;
    char quote = 0;
    bool comment = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
            comment = false;
            if (quote == '\'') quote = 0;  // a plain newline ends nothing else; keeps the scan simple
            continue;
        }
        if (comment) continue;
        if (quote) {
            if (c == '\\' && quote == '"') ++i;
            else if (c == quote) quote = 0;
            continue;
        }
        if (c == '"' || c == '\'') quote = c;
        else if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t')) comment = true;
        else if (c == '[' || c == '{') {
            if (++depth > limit) return false;
        } else if ((c == ']' || c == '}') && depth > 0) --depth;
    }
    return true;
}

}  // namespace

bool YamlTree::parse(std::string_view text, std::string& error, int& error_line, int first_line) {
    // JSON first: simdjson bounds its own depth (to kMaxNesting, see json_reader.cpp), and the
    // byte-by-byte nesting scan below costs more than the whole JSON parse of a large List.
    if (parse_json(*this, text, first_line)) return true;
    if (!nesting_within(text, kMaxNesting, first_line, error_line)) {
        error = "nested deeper than " + std::to_string(kMaxNesting) + " levels of [ ] and { } (no Kubernetes object does)";
        return false;
    }
    return parse_yaml(text, error, error_line, first_line);
}

// Turns libyaml events into tree nodes. Kids of every open collection are gathered in
// `pending_` (innermost last) and copied into the tree in one block when the collection
// closes, so each collection's kids are contiguous however deep its children go.
class YamlBuilder {
public:
    YamlBuilder(YamlTree& t, int first_line) : t_(t), first_line_(static_cast<uint32_t>(first_line)) {}

    // False (with `error` set) only for an alias that names no anchor.
    bool add(const yaml_event_t& ev, std::string& error) {
        switch (ev.type) {
            case YAML_SCALAR_EVENT: scalar(ev); break;
            case YAML_SEQUENCE_START_EVENT:
                open(YamlTree::Kind::seq, ev.start_mark, ev.data.sequence_start.anchor);
                break;
            case YAML_MAPPING_START_EVENT:
                open(YamlTree::Kind::map, ev.start_mark, ev.data.mapping_start.anchor);
                break;
            case YAML_SEQUENCE_END_EVENT:
            case YAML_MAPPING_END_EVENT: close(); break;
            case YAML_ALIAS_EVENT: {
                const char* name = reinterpret_cast<const char*>(ev.data.alias.anchor);
                auto it = anchors_.find(name);
                if (it == anchors_.end()) {
                    error = "alias *" + std::string(name) + " names no anchor defined before it";
                    return false;
                }
                attach(it->second);
                break;
            }
            default: break;
        }
        return true;
    }

private:
    uint32_t add_node(YamlTree::Kind kind, const yaml_mark_t& mark, const yaml_char_t* anchor) {
        auto idx = static_cast<uint32_t>(t_.nodes_.size());
        YamlTree::Node n;
        n.kind = kind;
        n.line = static_cast<uint32_t>(mark.line) + first_line_;
        t_.nodes_.push_back(n);
        if (anchor) anchors_[reinterpret_cast<const char*>(anchor)] = idx;
        return idx;
    }

    void attach(uint32_t idx) {
        if (open_.empty())
            t_.documents_.push_back(idx);
        else
            pending_.push_back(idx);
    }

    void scalar(const yaml_event_t& ev) {
        uint32_t idx = add_node(YamlTree::Kind::scalar, ev.start_mark, ev.data.scalar.anchor);
        YamlTree::Node& n = t_.nodes_.back();
        n.first = static_cast<uint32_t>(t_.text_.size());
        n.count = static_cast<uint32_t>(ev.data.scalar.length);
        n.quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        t_.text_.append(as_view(ev.data.scalar.value, ev.data.scalar.length));
        attach(idx);
    }

    void open(YamlTree::Kind kind, const yaml_mark_t& mark, const yaml_char_t* anchor) {
        uint32_t idx = add_node(kind, mark, anchor);
        attach(idx);
        open_.emplace_back(idx, pending_.size());
    }

    void close() {
        auto [idx, start] = open_.back();
        open_.pop_back();
        YamlTree::Node& n = t_.nodes_[idx];
        n.first = static_cast<uint32_t>(t_.kids_.size());
        n.count = static_cast<uint32_t>(pending_.size() - start);
        t_.kids_.insert(t_.kids_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(start), pending_.end());
        pending_.resize(start);
    }

    YamlTree& t_;
    uint32_t first_line_;
    std::vector<uint32_t> pending_;
    std::vector<std::pair<uint32_t, size_t>> open_;  // (node index, where its kids start in pending_)
    std::unordered_map<std::string, uint32_t> anchors_;
};

bool YamlTree::parse_yaml(std::string_view text, std::string& error, int& error_line, int first_line) {
    clear(text.size());
    std::unique_ptr<yaml_parser_t, ParserDeleter> parser(new yaml_parser_t);
    if (!yaml_parser_initialize(parser.get())) {
        error = "cannot initialise the YAML parser (out of memory)";
        error_line = 0;
        return false;
    }
    yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
    YamlBuilder builder(*this, first_line);
    for (;;) {
        EventGuard g;
        if (!yaml_parser_parse(parser.get(), &g.ev)) {
            error = parser->problem ? parser->problem : "malformed YAML";
            if (parser->context) error = std::string(parser->context) + ": " + error;
            error_line = static_cast<int>(parser->problem_mark.line) + first_line;
            return false;
        }
        if (g.ev.type == YAML_STREAM_END_EVENT) return true;
        if (!builder.add(g.ev, error)) {
            error_line = static_cast<int>(g.ev.start_mark.line) + first_line;
            return false;
        }
    }
}

bool YNode::is_map() const { return tree_ && tree_->nodes_[index_].kind == YamlTree::Kind::map; }
bool YNode::is_seq() const { return tree_ && tree_->nodes_[index_].kind == YamlTree::Kind::seq; }
bool YNode::is_scalar() const {
    return tree_ && tree_->nodes_[index_].kind == YamlTree::Kind::scalar;
}
bool YNode::is_quoted() const { return is_scalar() && tree_->nodes_[index_].quoted; }

bool YNode::is_null() const {
    if (!tree_) return true;
    if (!is_scalar() || is_quoted()) return false;
    auto s = str();
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

int YNode::line() const { return tree_ ? static_cast<int>(tree_->nodes_[index_].line) : 0; }

std::string_view YNode::str() const {
    if (!is_scalar()) return {};
    const auto& n = tree_->nodes_[index_];
    return std::string_view(tree_->text_).substr(n.first, n.count);
}

size_t YNode::size() const {
    if (!tree_ || is_scalar()) return 0;
    const auto& n = tree_->nodes_[index_];
    return is_map() ? n.count / 2 : n.count;
}

YNode YNode::item(size_t i) const {
    return YNode(tree_, tree_->kids_[tree_->nodes_[index_].first + i]);
}
YNode YNode::key(size_t i) const {
    return YNode(tree_, tree_->kids_[tree_->nodes_[index_].first + 2 * i]);
}
YNode YNode::value(size_t i) const {
    return YNode(tree_, tree_->kids_[tree_->nodes_[index_].first + 2 * i + 1]);
}

YNode YNode::get(std::string_view k) const {
    if (!is_map()) return {};
    size_t n = size();
    for (size_t i = 0; i < n; ++i) {
        YNode kn = key(i);
        if (kn.is_scalar() && kn.str() == k) return value(i);
    }
    return {};
}

std::vector<YamlTree::DuplicateKey> YamlTree::duplicate_keys() const {
    std::vector<DuplicateKey> out;
    std::vector<std::pair<std::string_view, uint32_t>> keys;  // (key text, node), per mapping
    for (const Node& n : nodes_) {
        if (n.kind != Kind::map || n.count < 4) continue;
        keys.clear();
        for (uint32_t i = 0; i < n.count; i += 2) {
            const uint32_t k = kids_[n.first + i];
            if (nodes_[k].kind == Kind::scalar)
                keys.emplace_back(std::string_view(text_).substr(nodes_[k].first, nodes_[k].count), k);
        }
        // Stable: equal keys stay in file order, so the first of a run is the first written.
        std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t i = 1; i < keys.size(); ++i)
            if (keys[i].first == keys[i - 1].first) {
                size_t first = i - 1;
                while (first > 0 && keys[first - 1].first == keys[i].first) --first;
                out.push_back(DuplicateKey{std::string(keys[i].first), static_cast<int>(nodes_[keys[i].second].line),
                                           static_cast<int>(nodes_[keys[first].second].line)});
            }
    }
    return out;
}

std::string YNode::describe() const {
    if (!tree_) return "nothing";
    if (is_map()) return "a mapping";
    if (is_seq()) return "a list";
    if (is_null()) return "null";
    return "\"" + std::string(str()) + "\"";
}

}  // namespace nfgate::loader

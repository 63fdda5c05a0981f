#include "control/loader/document_split.hpp"

#include <algorithm>
#include <system_error>
#include <thread>

namespace nfgate::loader {

namespace {

// Below this a second thread costs more than it saves.
constexpr size_t kMinPieceBytes = 1 << 20;
constexpr size_t kMaxPieces = 8;

bool starts_document(std::string_view text, size_t line_start) {
    if (text.compare(line_start, 3, "---") != 0) return false;
    size_t after = line_start + 3;
    return after == text.size() || text[after] == '\n' || text[after] == '\r' || text[after] == ' ' ||
           text[after] == '\t';
}

}  // namespace

std::vector<size_t> document_cut_points(std::string_view text, size_t pieces) {
    std::vector<size_t> cuts;
    if (pieces < 2 || (!text.empty() && text[0] == '%') || text.find("\n%") != std::string_view::npos) return cuts;
    size_t step = text.size() / pieces;
    size_t from = 0;
    for (size_t i = 1; i < pieces; ++i) {
        size_t pos = std::max(from, i * step);
        for (;;) {
            pos = text.find("\n---", pos);
            if (pos == std::string_view::npos) return cuts;
            ++pos;  // the line start
            if (starts_document(text, pos)) break;
        }
        cuts.push_back(pos);
        from = pos + 1;
    }
    return cuts;
}

bool parse_in_pieces(std::string_view text, std::vector<YamlTree>& trees, std::string& error, int& error_line) {
    size_t cores = std::max(1u, std::thread::hardware_concurrency());
    size_t pieces = std::min({cores, kMaxPieces, std::max<size_t>(1, text.size() / kMinPieceBytes)});
    std::vector<size_t> bounds = document_cut_points(text, pieces);
    bounds.insert(bounds.begin(), 0);
    bounds.push_back(text.size());
    size_t n = bounds.size() - 1;

    trees.clear();
    trees.resize(n);
    std::vector<std::string> errors(n);
    std::vector<int> error_lines(n, 0);
    std::vector<char> ok(n, 0);
    auto parse_piece = [&](size_t i) {
        std::string_view piece = text.substr(bounds[i], bounds[i + 1] - bounds[i]);
        int first_line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bounds[i]), '\n'));
        ok[i] = trees[i].parse(piece, errors[i], error_lines[i], first_line);
    };
    std::vector<std::thread> helpers;
    for (size_t i = 1; i < n; ++i) {
        try {
            helpers.emplace_back(parse_piece, i);
        } catch (const std::system_error&) {
            parse_piece(i);  // no thread to be had: this piece is parsed here, the rest still in parallel
        }
    }
    parse_piece(0);
    for (auto& t : helpers) t.join();
    for (size_t i = 0; i < n; ++i) {
        if (ok[i]) continue;
        error = errors[i];
        error_line = error_lines[i];
        return false;
    }
    return true;
}

}  // namespace nfgate::loader

// Parses a large multi-document YAML file on several threads. libyaml reads about 40 MB/s,
// so a 10k-Service manifest would take half a second on one core; documents are independent
// (anchors do not cross a `---`), so the text is cut at document markers and each piece is
// parsed on its own thread into its own tree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control/loader/yaml_tree.hpp"

namespace nfgate::loader {

// Where `text` may be cut into at most `pieces` parts: offsets of lines that start a document
// ("---" alone or followed by a space), near equal spacing. Empty when the text holds
// directives (%YAML, %TAG), which bind to the next document and must stay with it.
std::vector<size_t> document_cut_points(std::string_view text, size_t pieces);

// Parses `text` into one tree per piece, in order, with file line numbers. On failure
// reports the first (lowest-line) error.
bool parse_in_pieces(std::string_view text, std::vector<YamlTree>& trees, std::string& error, int& error_line);

}  // namespace nfgate::loader

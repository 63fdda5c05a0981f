// Text that is a single JSON value, parsed by simdjson into a YamlTree like libyaml would fill it,
// with every node's line number (error messages name file:line as for YAML).
#pragma once

#include <string_view>

#include "control/loader/yaml_tree.hpp"

namespace nfgate::loader {

// True when `text` is exactly one JSON object or array (RFC 8259) and `tree` now holds it.
// `first_line` 0 leaves every line 0: for objects from the API server, which have no file.
// False for anything else (YAML, malformed JSON): the caller then lets libyaml decide, so
// errors are always reported in libyaml's words.
bool parse_json(YamlTree& tree, std::string_view text, int first_line = 1);

}  // namespace nfgate::loader

// A direct reader for text that is a single JSON value, filling a YamlTree like libyaml would.
#pragma once

#include <string_view>

#include "control/loader/yaml_tree.hpp"

namespace nfgate::loader {

// True when `text` is exactly one JSON object or array (RFC 8259) and `tree` now holds it.
// False for anything else (YAML, malformed JSON): the caller then lets libyaml decide, so
// errors are always reported in libyaml's words.
bool parse_json(YamlTree& tree, std::string_view text, int first_line = 1);

}  // namespace nfgate::loader

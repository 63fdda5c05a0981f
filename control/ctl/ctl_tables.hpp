// nfgatectl's human output: each answer of the control API as an aligned table or a short
// block of "key: value" lines. `-o json` bypasses all of this and prints the answer as is.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace nfgate::ctl {

using Json = nlohmann::json;

// Prints the `result` of a successful answer to `command` for a person.
void print_human(std::ostream& out, const std::string& command, const Json& result);

}  // namespace nfgate::ctl

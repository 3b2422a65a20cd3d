// Plain words for the command-line mistakes people make: an unknown
// subcommand or option is quoted, with the nearest valid name and the
// choices; arguments before the subcommand are pointed out.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace minga::cli {

// `args` are the words after the program name. Returns the message for the
// first mistake found walking them through `root`'s subcommands and
// options, or nullopt when the words look right (then the parser's own
// message stands):
//   unknown subcommand 'addd' for 'minga calc'; did you mean 'add'? (choices: add, sub, mul, div)
//   unknown option '--ouput'; did you mean '--output'?
//   'add' comes first: minga calc add 1 2
//   'minga calc' needs a subcommand: add, sub, mul, div
std::optional<std::string> explain_parse_error(const CLI::App& root, const std::vector<std::string>& args);

// The choice nearest to `typed` (a prefix either way, or at most two edits
// away), or "" when none is near.
std::string nearest(const std::string& typed, const std::vector<std::string>& choices);

}  // namespace minga::cli

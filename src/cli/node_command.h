// `minga node`: runs a node in the foreground.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::cli {

void add_node_command(CLI::App& root, std::function<int()>& action);

}  // namespace minga::cli

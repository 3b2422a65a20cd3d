// `minga put|get|ls|stat|rm`: the files app from the command line
// (docs/files.md).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::client {
struct ClientOptions;
}

namespace minga::files {

void add_cli(CLI::App& root, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::files

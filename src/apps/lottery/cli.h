// `minga lottery agency|winners|status|gen-data` and `minga bench lottery`.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::client {
struct ClientOptions;
}

namespace minga::lottery {

void add_cli(CLI::App& root, CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::lottery

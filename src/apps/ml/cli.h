// `minga ml train|jobs|status|cancel|models|show|rm|predict`: the ML app from
// the command line (docs/ml.md).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::client {
struct ClientOptions;
}

namespace minga::ml {

void add_cli(CLI::App& root, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::ml

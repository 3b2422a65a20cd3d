// `minga records add TEXT` and `minga records ls [--stale]`.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::client {
struct ClientOptions;
}

namespace minga::records {

void add_cli(CLI::App& root, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::records

// `minga cluster status` and `minga cluster up`.
#pragma once

#include <functional>

#include "client/options.h"

namespace CLI {
class App;
}

namespace minga::cli {

void add_cluster_admin_commands(CLI::App& root, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli

// `minga sumsq N` and `minga workers`: the coordinator's scatter/gather job
// and its worker table (docs/coordinator.md). Against a `both` or worker
// node they answer for that node alone.
#pragma once

#include <functional>

#include "client/options.h"

namespace minga::cli {

void add_cluster_commands(CLI::App& root, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli

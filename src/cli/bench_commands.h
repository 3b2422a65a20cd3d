// `minga bench tasks`: a load generator that prints requests/s and latency.
#pragma once

#include <functional>

#include "cli/client_options.h"

namespace minga::cli {

void add_bench_tasks_command(CLI::App& bench, ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli

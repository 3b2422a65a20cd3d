// `minga bench tasks`: a load generator that prints requests/s and latency.
// `minga bench failover`: leader kills of a local 3-node cluster, timed.
#pragma once

#include <functional>

#include "cli/client_options.h"

namespace minga::cli {

void add_bench_tasks_command(CLI::App& bench, ClientOptions& options, std::function<int()>& action);
void add_bench_failover_command(CLI::App& bench, ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli

// `minga bench tasks` and `minga bench records`: load generators that print
// throughput and latency.
#pragma once

#include <functional>

#include "client/options.h"

namespace minga::cli {

void add_bench_tasks_command(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);
// `minga bench records`: pipelined `records add` writes against a cluster.
void add_bench_records_command(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli

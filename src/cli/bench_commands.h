// `minga bench tasks` and `minga bench records`: load generators that print
// throughput and latency. `minga bench failover`: leader kills of a local
// 3-node cluster, timed.
#pragma once

#include <functional>

#include "client/options.h"

namespace minga::cli {

void add_bench_tasks_command(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);
// `minga bench records`: pipelined `records add` writes against a cluster.
void add_bench_records_command(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);
// `minga bench failover`: kill -9 the leader of a local 3-node cluster, time the next write.
void add_bench_failover_command(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli

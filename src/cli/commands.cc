#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include "apps/files/bench_cli.h"
#include "apps/files/cli.h"
#include "apps/lottery/cli.h"
#include "apps/ml/bench_cli.h"
#include "apps/ml/cli.h"
#include "apps/ml/predict_bench_cli.h"
#include "apps/records/cli.h"
#include "cli/bench_commands.h"
#include "cli/cluster_admin.h"
#include "cli/cluster_commands.h"
#include "cli/node_command.h"
#include "cli/task_commands.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout

void add_all_commands(CLI::App& root, ClientOptions& options, std::function<int()>& action) {
  add_node_command(root, action);
  add_task_commands(root, options, action);
  add_cluster_commands(root, options, action);
  add_cluster_admin_commands(root, options, action);
  auto* bench = root.add_subcommand("bench", "load generators that print throughput and latency");
  bench->require_subcommand(1);
  add_bench_tasks_command(*bench, options, action);
  add_bench_records_command(*bench, options, action);
  add_bench_failover_command(*bench, options, action);
  files::add_bench_cli(*bench, options, action);
  lottery::add_cli(root, *bench, options, action);
  ml::add_bench_cli(*bench, action);
  ml::add_predict_bench_cli(*bench, options, action);
  records::add_cli(root, options, action);
  files::add_cli(root, options, action);
  ml::add_cli(root, options, action);
}

}  // namespace minga::cli

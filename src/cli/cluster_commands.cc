#include "cli/cluster_commands.h"

#include <algorithm>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "apps/calc/sum_squares.h"
#include "base/json.h"
#include "cluster/workers_json.h"
#include "proto/cluster.pb.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout

namespace {

int run_sumsq(const ClientOptions& options, const std::string& n_text) {
  auto n = calc::parse_sum_squares_n(n_text);
  if (!n.ok()) return report_usage(options, n.error());
  pb::SumSquaresRequest req;
  req.set_n(n.value());
  auto r = call_with_retry<pb::SumSquaresResponse>(options, pb::SUM_SQUARES_REQUEST, req, pb::SUM_SQUARES_RESPONSE);
  if (!r.ok()) return report(options, r.error());
  if (options.json()) {
    std::cout << calc::sum_squares_json(r.value()) << std::endl;
    return kExitOk;
  }
  // The bare result first (scripts read line 1), then one line per part.
  std::cout << r->result() << "\n";
  for (const auto& p : r->parts()) {
    std::cout << "  " << p.a() << "-" << p.b() << " = " << p.result() << " (" << p.worker();
    for (int i = 0; i < p.reassigned_from_size(); ++i) {
      std::cout << (i == 0 ? ", reassigned from " : ", ") << p.reassigned_from(i);
    }
    std::cout << ")\n";
  }
  std::cout << std::flush;
  return kExitOk;
}

int run_workers(const ClientOptions& options) {
  auto r =
      call_with_retry<pb::WorkersResponse>(options, pb::WORKERS_REQUEST, pb::WorkersRequest{}, pb::WORKERS_RESPONSE);
  if (!r.ok()) return report(options, r.error());
  if (options.json()) {
    const std::string table = cluster::workers_json(r.value());
    std::cout << R"({"ok":true,)" << table.substr(1) << std::endl;
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "ADDRESS", "STATE", "CAPACITY", "IN FLIGHT", "DONE"}};
  for (const auto& w : r->workers()) {
    rows.push_back({w.id(), w.address(), w.state(), std::to_string(w.capacity()), std::to_string(w.in_flight()),
                    std::to_string(w.done())});
  }
  print_table(rows);
  return kExitOk;
}

}  // namespace

void add_cluster_commands(CLI::App& root, ClientOptions& options, std::function<int()>& action) {
  auto n = std::make_shared<std::string>();
  auto* sumsq = root.add_subcommand(
      "sumsq", "1^2 + ... + N^2, exact up to N = 10^12; a coordinator splits it over its live workers");
  sumsq->add_option("n", *n, "a whole number from 0 to 1000000000000")->required();
  sumsq->callback([&options, &action, n] { action = [&options, n] { return run_sumsq(options, *n); }; });

  root.add_subcommand("workers", "list the coordinator's workers: id, address, state, capacity, in flight, done")
      ->callback([&options, &action] { action = [&options] { return run_workers(options); }; });
}

}  // namespace minga::cli

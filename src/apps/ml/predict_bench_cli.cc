// `minga bench predict`: predictions of one ready model through the nodes.
// Phase 1, one connection, one request at a time: the latency of a single
// request. Phase 2, --connections connections (one blocking thread each,
// spread round robin over --server), each sending one request at a time:
// requests/s and their latency. Every request carries --rows rows of random
// features in [0, 1) (made before the clock starts); a prediction counts once
// its MlPredictResponse arrived with one answer per row.
#include "apps/ml/predict_bench_cli.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/json.h"
#include "base/number.h"
#include "client/options.h"
#include "net/client.h"
#include "proto/ml.pb.h"

namespace minga::ml {
namespace {

using client::ClientOptions;
using Clock = std::chrono::steady_clock;

struct PredictBenchOptions {
  std::uint64_t model = 0;
  unsigned connections = 50;
  double duration = 5;
  unsigned rows = 1;
  unsigned inputs = 64;  // distinct requests per connection, cycled
};

struct Phase {
  std::vector<double> us;  // per answered request, sorted at the end
  std::uint64_t errors = 0;
  std::string first_error;
  double seconds = 0;
};

// `count` requests of `rows` random rows of `features` values each.
std::vector<pb::MlPredictRequest> make_requests(std::uint64_t model, std::uint32_t features, unsigned rows,
                                                unsigned count, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<pb::MlPredictRequest> out(count);
  for (auto& req : out) {
    req.set_id(model);
    for (unsigned r = 0; r < rows; ++r) {
      auto* row = req.add_rows();
      for (std::uint32_t f = 0; f < features; ++f) row->add_values(u(gen));
    }
  }
  return out;
}

// `threads` connections, each sending its requests one at a time until
// `seconds` have passed.
Phase run_phase(const std::vector<net::Endpoint>& eps, unsigned threads, double seconds,
                const std::vector<std::vector<pb::MlPredictRequest>>& requests, unsigned rows,
                net::Client::Millis timeout) {
  std::vector<Phase> per(threads);
  std::atomic<bool> go{false};
  const auto budget = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  std::atomic<unsigned> ready{0};
  Clock::time_point start;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Phase& p = per[t];
      auto fail = [&p](const Error& e) {
        p.errors++;
        if (p.first_error.empty()) p.first_error = std::string(errc_name(e.code)) + ": " + e.message;
      };
      auto c = net::Client::connect(eps[t % eps.size()], timeout);
      ready++;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      if (!c.ok()) {
        fail(c.error());
        return;
      }
      const auto& mine = requests[t % requests.size()];
      const auto end = start + budget;
      for (std::size_t i = 0;; ++i) {
        const auto t0 = Clock::now();
        if (t0 >= end) break;
        auto r = c->call<pb::MlPredictResponse>(pb::ML_PREDICT_REQUEST, mine[i % mine.size()], pb::ML_PREDICT_RESPONSE,
                                                timeout);
        const auto t1 = Clock::now();
        if (!r.ok()) {
          fail(r.error());
          auto again = net::Client::connect(eps[t % eps.size()], timeout);
          if (!again.ok()) {
            fail(again.error());
            return;
          }
          c = std::move(again);
          continue;
        }
        if (static_cast<unsigned>(r->predictions_size()) != rows) {
          fail(Error{Errc::internal, "an answer of " + std::to_string(r->predictions_size()) + " predictions to " +
                                         std::to_string(rows) + " rows"});
          continue;
        }
        p.us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  Phase all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& p : per) {
    all.us.insert(all.us.end(), p.us.begin(), p.us.end());
    all.errors += p.errors;
    if (all.first_error.empty()) all.first_error = p.first_error;
  }
  std::sort(all.us.begin(), all.us.end());
  return all;
}

int run_predict_bench(const ClientOptions& options, const PredictBenchOptions& opt) {
  const std::vector<net::Endpoint> eps = client::servers(options);
  if (eps.empty()) return client::report_usage(options, Error{Errc::invalid_argument, "--server names no address"});
  const auto timeout = std::chrono::duration_cast<net::Client::Millis>(options.timeout());
  // The model's inputs, from its registry entry.
  pb::MlJobRequest jreq;
  jreq.set_id(opt.model);
  auto job = client::call_cluster<pb::MlJobResponse>(options, pb::ML_JOB_REQUEST, jreq, pb::ML_JOB_RESPONSE, true);
  if (!job.ok()) return client::report(options, job.error());
  if (job->job().architecture_size() < 2) {
    return client::report(options,
                          Error{Errc::not_yet, "model " + std::to_string(opt.model) + " has no architecture yet"});
  }
  const std::uint32_t features = job->job().architecture(0);
  std::vector<std::vector<pb::MlPredictRequest>> requests(opt.connections);
  for (unsigned t = 0; t < opt.connections; ++t) {
    requests[t] = make_requests(opt.model, features, opt.rows, opt.inputs, 1000003ull * (t + 1));
  }
  // Warm-up: every node loads the model into memory (its first request reads the model file).
  for (std::size_t i = 0; i < eps.size(); ++i) {
    auto c = net::Client::connect(eps[i], timeout);
    if (!c.ok()) return client::report(options, c.error());
    for (int k = 0; k < 20; ++k) {
      auto r = c->call<pb::MlPredictResponse>(pb::ML_PREDICT_REQUEST, requests[0][k % requests[0].size()],
                                              pb::ML_PREDICT_RESPONSE, timeout);
      if (!r.ok()) return client::report(options, r.error());
    }
  }
  const std::vector<std::vector<pb::MlPredictRequest>> first(requests.begin(), requests.begin() + 1);
  const Phase single = run_phase(eps, 1, opt.duration, first, opt.rows, timeout);
  const Phase many = run_phase(eps, opt.connections, opt.duration, requests, opt.rows, timeout);
  auto rps = [](const Phase& p) { return p.seconds > 0 ? static_cast<double>(p.us.size()) / p.seconds : 0; };
  std::string arch;
  for (auto v : job->job().architecture()) arch += (arch.empty() ? "" : "-") + std::to_string(v);
  if (options.json()) {
    std::cout << json::Object()
                     .add("model", opt.model)
                     .add("architecture", arch)
                     .add("rows_per_request", static_cast<std::uint64_t>(opt.rows))
                     .add("servers", static_cast<std::uint64_t>(eps.size()))
                     .add("duration_s", opt.duration)
                     .add("single_requests", static_cast<std::uint64_t>(single.us.size()))
                     .add("single_requests_per_s", rps(single))
                     .add("single_p50_us", percentile(single.us, 50))
                     .add("single_p99_us", percentile(single.us, 99))
                     .add("connections", static_cast<std::uint64_t>(opt.connections))
                     .add("requests", static_cast<std::uint64_t>(many.us.size()))
                     .add("requests_per_s", rps(many))
                     .add("p50_us", percentile(many.us, 50))
                     .add("p99_us", percentile(many.us, 99))
                     .add("errors", single.errors + many.errors)
                     .str()
              << std::endl;
  } else {
    std::printf("predict: model %llu (%s), %u row(s) of random features per request, %zu server(s), %.1f s per phase\n",
                static_cast<unsigned long long>(opt.model), arch.c_str(), opt.rows, eps.size(), opt.duration);
    std::printf("1 connection: %zu requests, %.0f requests/s, p50 %.0f us, p99 %.0f us, %llu errors\n",
                single.us.size(), rps(single), percentile(single.us, 50), percentile(single.us, 99),
                static_cast<unsigned long long>(single.errors));
    std::printf("%u connections: %zu requests, %.0f requests/s, p50 %.0f us, p99 %.0f us, %llu errors\n",
                opt.connections, many.us.size(), rps(many), percentile(many.us, 50), percentile(many.us, 99),
                static_cast<unsigned long long>(many.errors));
    const std::string& fe = single.first_error.empty() ? many.first_error : single.first_error;
    if (!fe.empty()) std::printf("first error: %s\n", fe.c_str());
  }
  if (single.us.empty() || many.us.empty()) return client::kExitServerError;
  return single.errors + many.errors == 0 ? client::kExitOk : client::kExitServerError;
}

}  // namespace

void add_predict_bench_cli(CLI::App& bench, ClientOptions& options, std::function<int()>& action) {
  auto opt = std::make_shared<PredictBenchOptions>();
  auto* cmd = bench.add_subcommand(
      "predict",
      "predictions of a ready model through the nodes: first one connection, one request at a time (the latency of a "
      "single request), then --connections connections, one request in flight each; prints requests/s and p50/p99 "
      "latency of each phase.\nEach request carries --rows rows of random features. Connection i goes to the i-th "
      "address of --server (round robin). Exit 0 only if every request was answered.");
  cmd->add_option("--model", opt->model, "the model id")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--connections,-c", opt->connections, "connections of the second phase (a thread each)")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  cmd->add_option("--duration,-d", opt->duration, "seconds per phase")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  cmd->add_option("--rows", opt->rows, "rows per request")->check(CLI::Range(1u, 1000u))->capture_default_str();
  cmd->callback([&options, &action, opt] { action = [&options, opt] { return run_predict_bench(options, *opt); }; });
}

}  // namespace minga::ml

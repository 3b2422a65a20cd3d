#include "apps/lottery/bench_cli.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "apps/lottery/agency.h"
#include "apps/lottery/gen.h"
#include "apps/lottery/lottery_app.h"
#include "base/json.h"
#include "base/log.h"
#include "client/options.h"

extern char** environ;

namespace minga::lottery {
namespace {

using client::ClientOptions;
using client::kExitOk;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- bench lottery

// A `minga node` child process on 127.0.0.1 with an ephemeral port.
class ChildNode {
 public:
  static Result<ChildNode> start(const std::filesystem::path& data_dir, std::uint32_t agencies) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Error{Errc::internal, "pipe failed"};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    std::vector<std::string> args = {"minga",          "node",      "--id",       "bench-lottery",
                                     "--host",         "127.0.0.1", "--port",     "0",
                                     "--monitor-port", "0",         "--data-dir", data_dir.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).substr(0, 23) != "MINGA_LOTTERY_AGENCIES=") env_strings.emplace_back(*e);
    }
    env_strings.push_back("MINGA_LOTTERY_AGENCIES=" + std::to_string(agencies));
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (rc != 0) {
      ::close(pipe_fds[0]);
      return Error{Errc::internal, "cannot start a node: " + std::string(std::strerror(rc))};
    }
    ChildNode node;
    node.pid_ = pid;
    node.err_fd_ = pipe_fds[0];
    // Read stderr until the node says where it listens.
    std::string buffer;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      char buf[4096];
      const ssize_t n = ::read(node.err_fd_, buf, sizeof buf);
      if (n <= 0) break;
      buffer.append(buf, static_cast<std::size_t>(n));
      const auto at = buffer.find("action: node_start | result: success");
      if (at == std::string::npos) continue;
      const auto addr = buffer.find("address: ", at);
      const auto end = buffer.find_first_of(" |\n", addr + 9);
      if (addr == std::string::npos || end == std::string::npos) continue;
      auto ep = net::parse_endpoint(buffer.substr(addr + 9, end - addr - 9));
      if (!ep.ok()) return ep.error();
      node.endpoint_ = ep.value();
      // Keep draining its log so it never blocks on a full pipe.
      node.drain_ = std::thread([fd = node.err_fd_] {
        char sink[4096];
        while (::read(fd, sink, sizeof sink) > 0) {
        }
      });
      return node;
    }
    return Error{Errc::unavailable, "the node did not start: " + buffer};
  }

  ChildNode() = default;
  ChildNode(ChildNode&& o) noexcept { *this = std::move(o); }
  ChildNode& operator=(ChildNode&& o) noexcept {
    std::swap(pid_, o.pid_);
    std::swap(err_fd_, o.err_fd_);
    std::swap(drain_, o.drain_);
    endpoint_ = o.endpoint_;
    return *this;
  }
  ~ChildNode() { stop(); }

  const net::Endpoint& endpoint() const { return endpoint_; }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (drain_.joinable()) drain_.join();
    if (err_fd_ >= 0) {
      ::close(err_fd_);
      err_fd_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::thread drain_;
  net::Endpoint endpoint_;
};

struct BenchFlags {
  std::uint32_t agencies = 5;
  std::uint64_t bets = 78697;
  std::uint64_t seed = 1;
  std::size_t max_amount = kDefaultBatchMaxAmount;
  std::size_t window = 16;
  int rounds = 3;
};

struct RoundFigures {
  double ingest_seconds = 0;  // first batch sent -> every batch acknowledged (durable)
  double total_seconds = 0;   // first batch sent -> last agency has its winners
  bool winners_ok = false;
};

Result<RoundFigures> bench_round(const BenchFlags& f, const std::vector<std::vector<pb::Bet>>& data) {
  const auto dir = std::filesystem::temp_directory_path() / ("minga-bench-lottery-" + std::to_string(::getpid()) + "-" +
                                                             std::to_string(Clock::now().time_since_epoch().count()));
  auto node = ChildNode::start(dir, f.agencies);
  if (!node.ok()) return node.error();
  std::vector<AgencyResult> results(f.agencies);
  std::vector<Clock::time_point> ingested(f.agencies);
  std::vector<Error> errors;
  std::mutex mu;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  for (std::uint32_t a = 0; a < f.agencies; ++a) {
    threads.emplace_back([&, a] {
      AgencyOptions o;
      o.agency = a + 1;
      o.servers = {node->endpoint()};
      o.max_amount = f.max_amount;
      o.window = f.window;
      Agency agency(o, stop);
      Status st = agency.send_bets(data[a]);
      ingested[a] = Clock::now();
      if (st.ok()) st = agency.notify_finished();
      if (st.ok()) {
        auto w = agency.wait_winners();
        if (!w.ok()) st = w.error();
      }
      results[a] = agency.result();
      if (!st.ok()) {
        std::lock_guard lock(mu);
        errors.push_back(st.error());
      }
    });
  }
  for (auto& t : threads) t.join();
  node->stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!errors.empty()) return errors.front();
  RoundFigures r;
  auto first = results[0].first_sent;
  auto last_ingest = ingested[0];
  auto last_winners = results[0].winners_at;
  r.winners_ok = true;
  for (std::uint32_t a = 0; a < f.agencies; ++a) {
    first = std::min(first, results[a].first_sent);
    last_ingest = std::max(last_ingest, ingested[a]);
    last_winners = std::max(last_winners, results[a].winners_at);
    if (results[a].winners != winners_of(data[a], kDefaultWinningNumber)) r.winners_ok = false;
  }
  r.ingest_seconds = std::chrono::duration<double>(last_ingest - first).count();
  r.total_seconds = std::chrono::duration<double>(last_winners - first).count();
  return r;
}

int run_bench(const ClientOptions& options, const BenchFlags& f) {
  log::init("warn", log::Format::text, "bench");
  GenOptions g;
  g.agencies = f.agencies;
  g.total_bets = f.bets;
  g.seed = f.seed;
  const auto data = generate_bets(g);
  std::vector<double> rates, totals;
  if (!options.json()) {
    std::cout << "lottery: " << f.agencies << " agencies, " << f.bets << " bets, batch " << f.max_amount << ", window "
              << f.window << ", " << f.rounds << " round(s), a fresh node per round\n";
  }
  for (int i = 0; i < f.rounds; ++i) {
    auto r = bench_round(f, data);
    if (!r.ok()) return client::report(options, r.error());
    if (!r->winners_ok) return client::report(options, Error{Errc::internal, "winners differ from the generated data"});
    const double rate = static_cast<double>(f.bets) / r->ingest_seconds;
    rates.push_back(rate);
    totals.push_back(r->total_seconds);
    if (!options.json()) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "round %d: %.0f bets/s durable (ingest %.3f s), first batch to last winners %.3f s, winners ok\n",
                    i + 1, rate, r->ingest_seconds, r->total_seconds);
      std::cout << line;
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double rate = median(rates), total = median(totals);
  if (options.json()) {
    json::Object o;
    o.add("ok", true);
    o.add("agencies", f.agencies);
    o.add("bets", static_cast<std::uint64_t>(f.bets));
    o.add("rounds", f.rounds);
    o.add("median_bets_per_second", std::round(rate));
    o.add("median_first_batch_to_last_winners_seconds", total);
    std::cout << o.str() << std::endl;
  } else {
    char line[256];
    std::snprintf(line, sizeof line, "median: %.0f bets/s durable, %.3f s from first batch to last winners\n", rate,
                  total);
    std::cout << line;
  }
  return kExitOk;
}

}  // namespace

void add_bench_cli(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action) {
  auto bf = std::make_shared<BenchFlags>();
  auto* b = bench.add_subcommand("lottery", "agencies against a fresh local node: durable bets/s and time to winners");
  b->add_option("--agencies", bf->agencies, "agencies sending at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  b->add_option("--bets", bf->bets, "bets in all")->check(CLI::Range(1, 100000000))->capture_default_str();
  b->add_option("--seed", bf->seed, "data generator seed")->capture_default_str();
  b->add_option("--batch-max-amount", bf->max_amount, "bets per batch")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  b->add_option("--window", bf->window, "batches in flight per agency")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  b->add_option("--rounds", bf->rounds, "rounds; the median is reported")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  b->callback([&action, &options, bf] { action = [&options, bf] { return run_bench(options, *bf); }; });
}

}  // namespace minga::lottery

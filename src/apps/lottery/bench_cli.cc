#include "apps/lottery/bench_cli.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
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
#include "proto/raft.pb.h"

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
  static Result<ChildNode> start(const std::filesystem::path& data_dir, std::uint32_t agencies,
                                 const std::vector<std::string>& cluster_args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Error{Errc::internal, "pipe failed"};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    std::vector<std::string> args = {"minga",          "node", "--host",     "127.0.0.1",
                                     "--monitor-port", "0",    "--data-dir", data_dir.string()};
    if (cluster_args.empty()) {
      args.insert(args.end(), {"--id", "bench-lottery", "--port", "0"});
    } else {
      args.insert(args.end(), cluster_args.begin(), cluster_args.end());
    }
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
  int nodes = 1;
};

// Ports of 127.0.0.1 free right now, all different (for nodes that must
// know each other's ports before they start): each stays bound until all
// are chosen.
Result<std::vector<std::uint16_t>> free_ports(std::size_t count) {
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  Status st = ok_status();
  for (std::size_t i = 0; i < count && st.ok(); ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      st = Error{Errc::internal, "socket failed"};
      break;
    }
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      st = Error{Errc::internal, "cannot pick a free port"};
      break;
    }
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  if (!st.ok()) return st.error();
  return ports;
}

// `nodes` fresh nodes under `dir`: one alone, or a cluster whose members
// know each other's Raft ports.
Result<std::vector<ChildNode>> start_nodes(const std::filesystem::path& dir, int nodes, std::uint32_t agencies) {
  std::vector<ChildNode> out;
  if (nodes == 1) {
    auto n = ChildNode::start(dir / "n1", agencies, {});
    if (!n.ok()) return n.error();
    out.push_back(std::move(n).value());
    return out;
  }
  auto ports = free_ports(2 * static_cast<std::size_t>(nodes));
  if (!ports.ok()) return ports.error();
  const std::vector<std::uint16_t> client(ports->begin(), ports->begin() + nodes);
  const std::vector<std::uint16_t> raft(ports->begin() + nodes, ports->end());
  std::string peers;
  for (int i = 0; i < nodes; ++i) {
    peers += (i > 0 ? "," : "") + ("n" + std::to_string(i + 1)) + "=127.0.0.1:" + std::to_string(raft[i]);
  }
  for (int i = 0; i < nodes; ++i) {
    const std::string id = "n" + std::to_string(i + 1);
    auto n = ChildNode::start(
        dir / id, agencies,
        {"--id", id, "--port", std::to_string(client[i]), "--raft-port", std::to_string(raft[i]), "--peers", peers});
    if (!n.ok()) return n.error();
    out.push_back(std::move(n).value());
  }
  // The round's clock starts with the first batch: wait for a leader first.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    auto c = net::Client::connect(out[0].endpoint(), std::chrono::milliseconds(1000));
    if (c.ok()) {
      auto st = c->call<pb::ClusterStatusResponse>(pb::CLUSTER_STATUS_REQUEST, pb::ClusterStatusRequest{},
                                                   pb::CLUSTER_STATUS_RESPONSE, std::chrono::milliseconds(1000));
      if (st.ok() && !st->leader().empty()) return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error{Errc::unavailable, "the bench cluster elected no leader within 20 s"};
}

struct RoundFigures {
  double ingest_seconds = 0;  // first batch sent -> every batch acknowledged (durable)
  double total_seconds = 0;   // first batch sent -> last agency has its winners
  bool winners_ok = false;
};

Result<RoundFigures> bench_round(const BenchFlags& f, const std::vector<std::vector<pb::Bet>>& data) {
  const auto dir = std::filesystem::temp_directory_path() / ("minga-bench-lottery-" + std::to_string(::getpid()) + "-" +
                                                             std::to_string(Clock::now().time_since_epoch().count()));
  auto nodes = start_nodes(dir, f.nodes, f.agencies);
  if (!nodes.ok()) return nodes.error();
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
      // Agencies spread over the nodes (followers forward to the leader);
      // each lists every node, its own first.
      for (std::size_t k = 0; k < nodes->size(); ++k)
        o.servers.push_back(nodes.value()[(a + k) % nodes->size()].endpoint());
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
  for (auto& n : nodes.value()) n.stop();
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
              << f.window << ", " << f.rounds << " round(s), "
              << (f.nodes == 1 ? std::string("a fresh node per round")
                               : "a fresh cluster of " + std::to_string(f.nodes) + " nodes per round")
              << "\n";
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
    o.add("nodes", f.nodes);
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
  b->add_option("--nodes", bf->nodes, "nodes of the fresh cluster each round (1: a single node)")
      ->check(CLI::Range(1, 7))
      ->capture_default_str();
  b->add_option("--rounds", bf->rounds, "rounds; the median is reported")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  b->callback([&action, &options, bf] { action = [&options, bf] { return run_bench(options, *bf); }; });
}

}  // namespace minga::lottery

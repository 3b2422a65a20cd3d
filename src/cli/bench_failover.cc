// `minga bench failover`: how long a loaded 3-node cluster takes to
// acknowledge writes again after its leader is killed with SIGKILL.
//
// It starts the cluster itself (child processes of this one, on 127.0.0.1
// ports the kernel picks, in a fresh data dir): killing the leader needs its
// PID. Writers keep appending records through every node. Each round kills
// the leader, measures the time from the kill to the first acknowledgment
// of a write *sent after* the kill (an answer already on its way when the
// leader died proves nothing), restarts the killed node, and waits until it
// has applied what the new leader had committed.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/bench_commands.h"
#include "net/client.h"
#include "proto/raft.pb.h"
#include "proto/records.pb.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct FailoverOptions {
  unsigned rounds = 10;
  unsigned writers = 4;
  std::string data_dir;  // "" = a fresh directory under /tmp, removed at the end
  double round_timeout_seconds = 10;
};

bool bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

// A port below the kernel's range for outgoing connections: one from that
// range could be taken by a writer's connection while its node is down, and
// the restarted node could not bind it again. 0 when none is found.
std::uint16_t free_port(std::mt19937& rng, std::set<std::uint16_t>& given) {
  unsigned lo = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%u", &lo) != 1) lo = 32768;
    std::fclose(f);
  }
  for (int attempt = 0; lo > 12000 && attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(10000 + rng() % (lo - 10000));
    if (given.insert(port).second && bindable(port)) return port;
  }
  return 0;
}

struct Node {
  std::string id;
  std::uint16_t client = 0, raft = 0, monitor = 0;
  std::string dir;
  pid_t pid = -1;
  std::string address() const { return "127.0.0.1:" + std::to_string(client); }
};

class LocalCluster {
 public:
  LocalCluster(std::string self, std::string dir) : self_(std::move(self)), dir_(std::move(dir)) {
    std::mt19937 rng(std::random_device{}());
    std::set<std::uint16_t> given;
    for (int i = 1; i <= 3; ++i) {
      Node n;
      n.id = "n" + std::to_string(i);
      n.client = free_port(rng, given);
      n.raft = free_port(rng, given);
      n.monitor = free_port(rng, given);
      n.dir = (std::filesystem::path(dir_) / n.id).string();
      nodes_.push_back(n);
    }
  }
  ~LocalCluster() {
    for (auto& n : nodes_) {
      if (n.pid > 0) ::kill(n.pid, SIGTERM);
    }
    for (auto& n : nodes_) {
      if (n.pid > 0) ::waitpid(n.pid, nullptr, 0);
    }
  }

  std::vector<Node>& nodes() { return nodes_; }
  bool has_ports() const {
    return std::all_of(nodes_.begin(), nodes_.end(), [](const Node& n) { return n.client && n.raft && n.monitor; });
  }

  // Starts node i; its log goes to DIR/nI.log.
  bool spawn(std::size_t i) {
    Node& n = nodes_[i];
    std::string peers;
    for (const auto& o : nodes_) {
      if (o.id != n.id) peers += (peers.empty() ? "" : ",") + o.id + "=127.0.0.1:" + std::to_string(o.raft);
    }
    std::vector<std::string> args = {self_,
                                     "node",
                                     "--id",
                                     n.id,
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(n.client),
                                     "--raft-port",
                                     std::to_string(n.raft),
                                     "--monitor-port",
                                     std::to_string(n.monitor),
                                     "--data-dir",
                                     n.dir,
                                     "--peers",
                                     peers};
    std::error_code ec;
    std::filesystem::create_directories(n.dir, ec);
    const std::string log = (std::filesystem::path(dir_) / (n.id + ".log")).string();
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(self_.c_str(), argv.data());
      std::_Exit(127);
    }
    n.pid = pid;
    return true;
  }

  void kill9(std::size_t i) {
    ::kill(nodes_[i].pid, SIGKILL);
    ::waitpid(nodes_[i].pid, nullptr, 0);
    nodes_[i].pid = -1;
  }

  std::optional<pb::ClusterStatusResponse> status(std::size_t i) const {
    auto c = net::Client::connect(net::parse_endpoint(nodes_[i].address()).value(), 300ms);
    if (!c.ok()) return std::nullopt;
    auto r = c->call<pb::ClusterStatusResponse>(pb::CLUSTER_STATUS_REQUEST, pb::ClusterStatusRequest{},
                                                pb::CLUSTER_STATUS_RESPONSE, 1s);
    if (!r.ok()) return std::nullopt;
    return r.value();
  }

  // The node that says it leads and that every other live node names.
  std::optional<std::size_t> leader() const {
    std::optional<std::size_t> says;
    std::map<std::string, int> named;
    int live = 0;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].pid <= 0) continue;
      auto s = status(i);
      if (!s) return std::nullopt;
      ++live;
      ++named[s->leader()];
      if (s->role() == "leader") says = i;
    }
    if (says && named[nodes_[*says].id] == live) return says;
    return std::nullopt;
  }

 private:
  std::string self_;
  std::string dir_;
  std::vector<Node> nodes_;
};

// Writers: each appends records through the nodes in turn, one at a time,
// and notes when each acknowledged write was sent and answered.
class Load {
 public:
  Load(std::vector<std::string> addresses, unsigned writers) : addresses_(std::move(addresses)) {
    for (unsigned w = 0; w < writers; ++w) threads_.emplace_back([this, w] { run(w); });
  }
  ~Load() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  std::uint64_t acked() const { return acked_; }
  // The first acknowledgment of a write sent at or after `since`, if any yet.
  std::optional<Clock::time_point> first_ack_sent_after(Clock::time_point since) const {
    std::lock_guard lock(mu_);
    std::optional<Clock::time_point> best;
    for (const auto& [sent, answered] : recent_) {
      if (sent >= since && (!best || answered < *best)) best = answered;
    }
    return best;
  }

 private:
  void run(unsigned w) {
    std::map<std::size_t, net::Client> conns;
    std::size_t node = w % addresses_.size();
    for (std::uint64_t i = 0; !stop_; ++i) {
      auto it = conns.find(node);
      if (it == conns.end()) {
        auto c = net::Client::connect(net::parse_endpoint(addresses_[node]).value(), 300ms);
        if (!c.ok()) {
          node = (node + 1) % addresses_.size();
          std::this_thread::sleep_for(5ms);
          continue;
        }
        it = conns.emplace(node, std::move(c.value())).first;
      }
      pb::RecordsAddRequest req;
      req.set_text("failover w" + std::to_string(w) + " " + std::to_string(i));
      const auto sent = Clock::now();
      auto r = it->second.call<pb::RecordsAddResponse>(pb::RECORDS_ADD_REQUEST, req, pb::RECORDS_ADD_RESPONSE, 2s);
      const auto answered = Clock::now();
      if (r.ok()) {
        ++acked_;
        std::lock_guard lock(mu_);
        recent_.emplace_back(sent, answered);
        if (recent_.size() > 4096) recent_.erase(recent_.begin(), recent_.begin() + 2048);
      } else {
        conns.erase(node);
        node = (node + 1) % addresses_.size();
        std::this_thread::sleep_for(5ms);  // an election: do not spin on refusals
      }
    }
  }

  std::vector<std::string> addresses_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> acked_{0};
  mutable std::mutex mu_;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> recent_;
  std::vector<std::thread> threads_;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest rank.
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

template <class Pred>
bool poll_until(Pred pred, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

int fail(const ClientOptions& options, const std::string& why) { return report(options, Error{Errc::internal, why}); }

int run_failover(const ClientOptions& options, const FailoverOptions& fo) {
  if (fo.rounds < 1 || fo.writers < 1 || fo.round_timeout_seconds <= 0) {
    return report_usage(options,
                        Error{Errc::invalid_argument, "--rounds, --writers and --round-timeout must be positive"});
  }
  char self[4096];
  const ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) return fail(options, std::string("cannot find the minga binary: ") + std::strerror(errno));
  self[len] = '\0';
  std::string dir = fo.data_dir;
  const bool temporary = dir.empty();
  if (temporary) {
    char tmpl[] = "/tmp/minga-failover-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      return fail(options, std::string("cannot make a data dir: ") + std::strerror(errno));
    dir = tmpl;
  }
  const auto timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(fo.round_timeout_seconds));
  std::vector<double> samples;
  std::string error;
  std::uint64_t acked = 0;
  double load_seconds = 0;
  {
    LocalCluster cluster(self, dir);
    if (!cluster.has_ports()) return fail(options, "no free ports on 127.0.0.1 below the ephemeral range");
    for (std::size_t i = 0; i < 3; ++i) {
      if (!cluster.spawn(i)) return fail(options, "cannot start a node");
    }
    std::optional<std::size_t> leader;
    if (!poll_until([&] { return (leader = cluster.leader()).has_value(); }, 20s)) {
      return fail(options, "the cluster elected no leader within 20 s (logs in " + dir + ")");
    }
    std::vector<std::string> addresses;
    for (const auto& n : cluster.nodes()) addresses.push_back(n.address());
    if (!options.json()) {
      std::cout << "minga bench failover: 3 nodes on 127.0.0.1, " << fo.writers << " writers, " << fo.rounds
                << " rounds; data and logs in " << dir << (temporary ? " (kept only if the bench fails)" : "")
                << std::endl;
    }
    const auto load_start = Clock::now();
    Load load(addresses, fo.writers);
    for (unsigned round = 1; round <= fo.rounds && error.empty(); ++round) {
      // Loaded and settled: one leader that all name, writes being acknowledged.
      const std::uint64_t before = load.acked();
      if (!poll_until([&] { return (leader = cluster.leader()).has_value() && load.acked() > before + 20; }, timeout)) {
        error = "round " + std::to_string(round) + ": no settled, loaded leader within the round timeout";
        break;
      }
      const std::size_t victim = *leader;
      const auto killed_at = Clock::now();
      cluster.kill9(victim);
      std::optional<Clock::time_point> acked_at;
      if (!poll_until([&] { return (acked_at = load.first_ack_sent_after(killed_at)).has_value(); }, timeout)) {
        error = "round " + std::to_string(round) + ": no write acknowledged within the round timeout after the kill";
        break;
      }
      samples.push_back(ms(*acked_at - killed_at));
      // Restart the killed node; it has caught up once it applied what the
      // new leader had committed when it came back.
      cluster.spawn(victim);
      std::optional<std::size_t> next;
      std::uint64_t target = 0;
      const auto restarted_at = Clock::now();
      const bool caught_up = poll_until(
          [&] {
            if (target == 0) {
              next = cluster.leader();
              if (!next || *next == victim) return false;
              auto s = cluster.status(*next);
              if (!s) return false;
              target = s->commit_index();
            }
            auto s = cluster.status(victim);
            return s && s->applied_index() >= target;
          },
          timeout);
      if (!caught_up) {
        error = "round " + std::to_string(round) + ": " + cluster.nodes()[victim].id + " did not catch up in time";
        break;
      }
      if (!options.json()) {
        std::printf(
            "round %u: killed %s (the leader); next write acknowledged after %.1f ms; restarted, caught up "
            "to index %llu in %.0f ms\n",
            round, cluster.nodes()[victim].id.c_str(), samples.back(), static_cast<unsigned long long>(target),
            ms(Clock::now() - restarted_at));
        std::fflush(stdout);
      }
    }
    acked = load.acked();
    load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
  }
  if (temporary && error.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (!error.empty()) return fail(options, error + " (logs in " + dir + ")");
  const double p50 = percentile(samples, 50), p99 = percentile(samples, 99),
               max = *std::max_element(samples.begin(), samples.end());
  if (options.json()) {
    std::printf(R"({"ok":true,"rounds":%zu,"p50_ms":%.1f,"p99_ms":%.1f,"max_ms":%.1f,"writes":%llu,"samples_ms":[)",
                samples.size(), p50, p99, max, static_cast<unsigned long long>(acked));
    for (std::size_t i = 0; i < samples.size(); ++i) std::printf("%s%.1f", i ? "," : "", samples[i]);
    std::printf("]}\n");
  } else {
    std::printf(
        "failover, kill -9 of the leader to the next acknowledged write, %zu rounds: p50 %.1f ms, p99 %.1f "
        "ms, max %.1f ms\n",
        samples.size(), p50, p99, max);
    std::printf("writes acknowledged: %llu in %.1f s\n", static_cast<unsigned long long>(acked), load_seconds);
  }
  return kExitOk;
}

}  // namespace

void add_bench_failover_command(CLI::App& bench, ClientOptions& options, std::function<int()>& action) {
  auto fo = std::make_shared<FailoverOptions>();
  auto* cmd = bench.add_subcommand(
      "failover",
      "start a loaded local 3-node cluster, kill -9 its leader, time the next acknowledged write, restart, repeat");
  cmd->add_option("--rounds", fo->rounds, "how many leader kills")->capture_default_str();
  cmd->add_option("--writers", fo->writers, "concurrent writers, one write in flight each")->capture_default_str();
  cmd->add_option("--data-dir", fo->data_dir, "where the nodes keep their data and logs (default: a temporary dir)");
  cmd->add_option("--round-timeout", fo->round_timeout_seconds, "seconds a round may take before the bench fails")
      ->capture_default_str();
  cmd->callback([&options, &action, fo] { action = [&options, fo] { return run_failover(options, *fo); }; });
}

}  // namespace minga::cli

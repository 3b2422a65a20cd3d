#include "cluster.h"

#include <algorithm>
#include <regex>
#include <stdexcept>
#include <thread>

namespace minga::testing {

std::unique_ptr<Cluster> Cluster::start(int n, std::vector<std::string> coordinator_args,
                                        std::vector<std::string> worker_args) {
  auto c = std::make_unique<Cluster>();
  std::vector<std::string> args = {"--role", "coordinator", "--id", "coord"};
  args.insert(args.end(), coordinator_args.begin(), coordinator_args.end());
  c->coordinator_ = NodeProcess::start(args);
  c->worker_args_ = std::move(worker_args);
  for (int i = 1; i <= n; ++i) c->start_worker("w" + std::to_string(i));
  if (!c->wait_live(static_cast<std::size_t>(n))) {
    throw std::runtime_error("workers did not come up:\n" + c->coordinator_.process().err());
  }
  return c;
}

NodeProcess& Cluster::start_worker(const std::string& id, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--role", "worker", "--id", id, "--join", address()};
  args.insert(args.end(), worker_args_.begin(), worker_args_.end());
  args.insert(args.end(), extra.begin(), extra.end());
  if (std::find(args.begin(), args.end(), "--threads") == args.end()) args.insert(args.end(), {"--threads", "2"});
  auto node = std::make_unique<NodeProcess>(NodeProcess::start(args));
  for (auto& [wid, w] : workers_) {
    if (wid == id) {
      w = std::move(node);
      return *w;
    }
  }
  workers_.emplace_back(id, std::move(node));
  return *workers_.back().second;
}

NodeProcess& Cluster::worker(const std::string& id) {
  for (auto& [wid, w] : workers_) {
    if (wid == id) return *w;
  }
  throw std::runtime_error("no worker " + id);
}

RunResult Cluster::minga(std::vector<std::string> args, std::chrono::milliseconds timeout) const {
  args.insert(args.begin(), {"--server", address()});
  return run_minga(args, {}, "", timeout);
}

Process Cluster::spawn_minga(std::vector<std::string> args) const {
  args.insert(args.begin(), {minga_binary(), "--server", address()});
  return Process::spawn(args);
}

pb::WorkersResponse Cluster::workers() const {
  auto r = call<pb::WorkersResponse>(address(), pb::WORKERS_REQUEST, pb::WorkersRequest{}, pb::WORKERS_RESPONSE);
  if (!r.ok()) throw std::runtime_error("workers request failed: " + r.error().message);
  return r.value();
}

std::string Cluster::state_of(const std::string& id) const {
  const pb::WorkersResponse table = workers();
  for (const auto& w : table.workers()) {
    if (w.id() == id) return w.state();
  }
  return "unknown";
}

bool Cluster::wait_live(std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t live = 0;
    const pb::WorkersResponse table = workers();
    for (const auto& w : table.workers()) live += w.state() == "live" ? 1 : 0;
    if (live == n) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

bool Cluster::wait_state(const std::string& id, const std::string& state, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (state_of(id) == state) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::vector<PartLine> parse_parts(const std::string& json) {
  static const std::regex re(
      R"re(\{"a":(\d+),"b":(\d+),"result":(\d+),"worker":"([^"]*)"(?:,"reassigned_from":\[([^\]]*)\])?\})re");
  std::vector<PartLine> out;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back(PartLine{(*it)[1], (*it)[2], (*it)[3], (*it)[4], (*it)[5]});
  }
  return out;
}

}  // namespace minga::testing

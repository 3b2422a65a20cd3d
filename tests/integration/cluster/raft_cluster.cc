#include "raft_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

namespace minga::testing {

namespace {

// The lowest port the kernel gives to the local end of outgoing connections.
unsigned ephemeral_low() {
  unsigned lo = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%u", &lo) != 1) lo = 32768;
    std::fclose(f);
  }
  return lo;
}

bool bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

}  // namespace

// Below the ephemeral range: a port the kernel hands out for outgoing
// connections can be taken by one (a client's, a proxy's) while its node is
// down, and the restarted node could not bind it again.
std::uint16_t free_port() {
  static std::mutex mu;
  static std::mt19937 rng(std::random_device{}());
  static std::set<std::uint16_t> given;
  const unsigned lo = ephemeral_low();
  std::lock_guard lock(mu);
  if (lo > 12000) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const auto port = static_cast<std::uint16_t>(10000 + rng() % (lo - 10000));
      if (given.insert(port).second && bindable(port)) return port;
    }
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::unique_ptr<RaftCluster> RaftCluster::start(int n, std::vector<std::string> extra_args) {
  return create(n, std::move(extra_args), false);
}

std::unique_ptr<RaftCluster> RaftCluster::start_proxied(int n, std::vector<std::string> extra_args) {
  return create(n, std::move(extra_args), true);
}

std::unique_ptr<RaftCluster> RaftCluster::start_forward_proxied(int n, std::vector<std::string> extra_args) {
  return create(n, std::move(extra_args), false, true);
}

std::unique_ptr<RaftCluster> RaftCluster::create(int n, std::vector<std::string> extra_args, bool proxied,
                                                 bool forward_proxied) {
  auto c = std::unique_ptr<RaftCluster>(new RaftCluster());
  c->extra_ = std::move(extra_args);
  for (int i = 1; i <= n; ++i) {
    Member m;
    m.id = "n" + std::to_string(i);
    m.client = free_port();
    m.raft = free_port();
    m.monitor = free_port();
    m.data_dir = (c->dir_.path() / m.id).string();
    c->members_.push_back(std::move(m));
  }
  if (proxied) {
    std::vector<std::uint16_t> raft_ports;
    for (const auto& m : c->members_) raft_ports.push_back(m.raft);
    c->net_ = std::make_unique<FaultNet>(raft_ports);
  }
  if (forward_proxied) {
    for (const auto& m : c->members_) c->forward_.push_back(std::make_unique<FaultProxy>(m.client));
  }
  for (std::size_t i = 0; i < c->members_.size(); ++i) c->spawn(i);
  if (!c->wait_leader(15s)) throw std::runtime_error("the cluster elected no leader");
  return c;
}

std::size_t RaftCluster::start_joining() {
  Member m;
  m.id = "n" + std::to_string(members_.size() + 1);
  m.client = free_port();
  m.raft = free_port();
  m.monitor = free_port();
  m.data_dir = (dir_.path() / m.id).string();
  members_.push_back(std::move(m));
  spawn(members_.size() - 1, true);
  return members_.size() - 1;
}

void RaftCluster::spawn(std::size_t i, bool joining) {
  Member& m = members_.at(i);
  std::string peers;
  for (std::size_t j = 0; j < members_.size(); ++j) {
    const Member& o = members_[j];
    if (o.id == m.id) continue;
    const std::uint16_t port = net_ && j < net_->size() ? net_->port(i, j) : o.raft;
    peers += (peers.empty() ? "" : ",") + o.id + "=127.0.0.1:" + std::to_string(port);
  }
  std::vector<std::string> argv = {minga_binary(),   "node",
                                   "--id",           m.id,
                                   "--host",         "127.0.0.1",
                                   "--port",         std::to_string(m.client),
                                   "--raft-port",    std::to_string(m.raft),
                                   "--monitor-port", std::to_string(m.monitor),
                                   "--data-dir",     m.data_dir,
                                   "--peers",        peers};
  if (joining) argv.insert(argv.end(), {"--cluster-state", "existing"});
  if (i < forward_.size()) argv.insert(argv.end(), {"--advertise", "127.0.0.1:" + std::to_string(forward_[i]->port())});
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  m.proc = Process::spawn(argv);
  if (!m.proc.wait_for_output("action: node_start | result: success", 15s)) {
    throw std::runtime_error("node " + m.id + " did not start:\n" + m.proc.err());
  }
  m.up = true;
}

std::string RaftCluster::all_addresses() const {
  std::string out;
  for (std::size_t i = 0; i < members_.size(); ++i) out += (out.empty() ? "" : ",") + address(i);
  return out;
}

void RaftCluster::kill(std::size_t i) {
  members_.at(i).proc.signal(SIGKILL);
  members_.at(i).proc.wait(5s);
  members_.at(i).up = false;
}
void RaftCluster::pause(std::size_t i) { members_.at(i).proc.signal(SIGSTOP); }
void RaftCluster::resume(std::size_t i) { members_.at(i).proc.signal(SIGCONT); }
void RaftCluster::restart(std::size_t i) {
  if (members_.at(i).up) kill(i);
  spawn(i);
}

Result<pb::ClusterStatusResponse> RaftCluster::status(std::size_t i) const {
  auto c = net::Client::connect(net::parse_endpoint(address(i)).value(), 1s);
  if (!c.ok()) return c.error();
  return c->call<pb::ClusterStatusResponse>(pb::CLUSTER_STATUS_REQUEST, pb::ClusterStatusRequest{},
                                            pb::CLUSTER_STATUS_RESPONSE, 2s);
}

std::optional<std::size_t> RaftCluster::wait_leader(std::chrono::milliseconds timeout,
                                                    std::optional<std::size_t> not_this) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::map<std::string, std::size_t> votes;
    std::size_t live = 0;
    std::optional<std::size_t> says_leader;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (!members_[i].up || (not_this && *not_this == i)) continue;
      ++live;
      auto s = status(i);
      if (!s.ok()) continue;
      if (!s->leader().empty()) ++votes[s->leader()];
      if (s->role() == "leader") says_leader = i;
    }
    if (says_leader) {
      const std::string& id = members_[*says_leader].id;
      if (votes[id] * 2 > live || (live == 1 && votes[id] == 1)) return says_leader;
    }
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

Result<std::uint64_t> RaftCluster::add(std::size_t i, const std::string& text) const {
  return add_to(address(i), text);
}

Result<std::uint64_t> RaftCluster::add_to(const std::string& address, const std::string& text) {
  auto c = net::Client::connect(net::parse_endpoint(address).value(), 2s);
  if (!c.ok()) return c.error();
  pb::RecordsAddRequest req;
  req.set_text(text);
  auto r = c->call<pb::RecordsAddResponse>(pb::RECORDS_ADD_REQUEST, req, pb::RECORDS_ADD_RESPONSE, 10s);
  if (!r.ok()) return r.error();
  return r->index();
}

Result<std::vector<std::string>> RaftCluster::list(std::size_t i, bool stale) const {
  auto c = net::Client::connect(net::parse_endpoint(address(i)).value(), 2s);
  if (!c.ok()) return c.error();
  std::vector<std::string> out;
  pb::RecordsListRequest req;
  req.set_stale(stale);
  for (;;) {
    auto r = c->call<pb::RecordsListResponse>(pb::RECORDS_LIST_REQUEST, req, pb::RECORDS_LIST_RESPONSE, 10s);
    if (!r.ok()) return r.error();
    for (const auto& rec : r->records()) {
      if (rec.index() != out.size() + 1) return Error{Errc::internal, "records out of order"};
      out.push_back(rec.text());
      req.set_after(rec.index());
    }
    if (!r->more()) return out;
  }
}

bool RaftCluster::wait_list(std::size_t i, const std::vector<std::string>& want,
                            std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto l = list(i, true);
    if (l.ok() && l.value() == want) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

RunResult RaftCluster::minga(std::vector<std::string> args, std::chrono::milliseconds timeout) const {
  args.insert(args.begin(), {"--server", all_addresses()});
  return run_minga(args, {}, "", timeout);
}

}  // namespace minga::testing

// A Raft cluster of real `minga node` processes on 127.0.0.1: nodes n1..nN
// with ports chosen up front (peers must know each other's Raft ports),
// killed, paused, resumed and restarted by PID, plus binary-protocol helpers.
// A proxied cluster routes every Raft link through a FaultNet (node i's
// --peers name the proxies i→j), so that a test can cut, drop or delay it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fault_proxy.h"
#include "harness.h"
#include "net/client.h"
#include "proto/raft.pb.h"
#include "proto/records.pb.h"

namespace minga::testing {

// A TCP port on 127.0.0.1 nothing uses right now, below the kernel's range
// for outgoing connections; never the same twice in one process.
std::uint16_t free_port();

class RaftCluster {
 public:
  struct Member {
    std::string id;
    std::uint16_t client = 0, raft = 0, monitor = 0;
    std::string data_dir;
    Process proc;
    bool up = false;
  };

  // Starts n nodes and waits until they agree on a leader.
  static std::unique_ptr<RaftCluster> start(int n, std::vector<std::string> extra_args = {});
  // The same with a fault-injecting proxy on every Raft link (see net()).
  static std::unique_ptr<RaftCluster> start_proxied(int n, std::vector<std::string> extra_args = {});
  // The same with a proxy in front of each node's client port that the node
  // advertises to its peers (--advertise): the writes a follower forwards to
  // the leader go through forward_proxy(leader); clients still reach every
  // node directly.
  static std::unique_ptr<RaftCluster> start_forward_proxied(int n, std::vector<std::string> extra_args = {});

  Member& member(std::size_t i) { return members_.at(i); }
  std::size_t size() const { return members_.size(); }
  // The proxies between the nodes' Raft ports; nullptr unless start_proxied.
  FaultNet* net() { return net_.get(); }
  // The proxy in front of node i's client port; nullptr unless start_forward_proxied.
  FaultProxy* forward_proxy(std::size_t i) { return i < forward_.size() ? forward_[i].get() : nullptr; }
  std::string address(std::size_t i) const { return "127.0.0.1:" + std::to_string(members_.at(i).client); }
  // Every client address, comma-separated (for --server).
  std::string all_addresses() const;

  // SIGKILL, SIGSTOP, SIGCONT by PID.
  void kill(std::size_t i);
  void pause(std::size_t i);
  void resume(std::size_t i);
  // Starts node i again on its data dir and ports.
  void restart(std::size_t i);
  // Starts a new node (--cluster-state existing) that waits to be added;
  // returns its index. Nothing is changed in the membership.
  std::size_t start_joining();

  // The status as node i sees it.
  Result<pb::ClusterStatusResponse> status(std::size_t i) const;
  // The member that is leader, as a majority of the live nodes see it, once
  // that leader says it leads (index into members); nullopt on timeout.
  std::optional<std::size_t> wait_leader(std::chrono::milliseconds timeout = 10s,
                                         std::optional<std::size_t> not_this = std::nullopt) const;

  Result<std::uint64_t> add(std::size_t i, const std::string& text) const;
  // The same against an address (for threads that run while members change).
  static Result<std::uint64_t> add_to(const std::string& address, const std::string& text);
  Result<std::vector<std::string>> list(std::size_t i, bool stale) const;
  // Polls node i's own copy until it equals `want`; false on timeout.
  bool wait_list(std::size_t i, const std::vector<std::string>& want, std::chrono::milliseconds timeout = 10s) const;

  // `minga --server <all> ARGS...`
  RunResult minga(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) const;

 private:
  static std::unique_ptr<RaftCluster> create(int n, std::vector<std::string> extra_args, bool proxied,
                                             bool forward_proxied = false);
  void spawn(std::size_t i, bool joining = false);
  TempDir dir_;
  std::unique_ptr<FaultNet> net_;
  std::vector<std::unique_ptr<FaultProxy>> forward_;
  std::vector<Member> members_;
  std::vector<std::string> extra_;
};

}  // namespace minga::testing

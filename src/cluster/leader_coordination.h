// Coordination on the Raft leader (ADR 007, docs/coordinator.md): the node
// that leads runs a Coordinator whose workers are every member of the
// cluster (itself included); the other members forward their clients'
// tasks, sumsq and workers requests to it.
//
// On every member this is the node's TaskRunner and its cluster ops:
//   - leader: tasks go to the scheduler, which spreads them round robin
//     over the members' dispatch links (WORKER_TASK_REQUEST), and sumsq is
//     split into one part per live member;
//   - follower: the request travels to the leader's client port on one
//     pipelined link and the leader's answer comes back unchanged;
//   - no leader known (an election): `not_leader`, and the client retries.
//
// Leadership is watched every `watch_interval`. A node that starts leading
// creates a Coordinator and dials every member; it serves once every known
// member attached or `takeover_grace` passed; until then it runs plain
// tasks on its own pool (their answer is the same anywhere) and answers
// sumsq `not_leader`, so a client retries instead of getting a one-part
// sumsq. A node that stops leading stops its Coordinator:
// the tasks it still held are answered `not_leader` and the client retries
// them at the new leader (tasks are idempotent). A forwarded request whose
// link to the leader breaks is answered `not_leader` too.
//
// Threads: thread-safe; callbacks run on I/O threads, never under a lock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/api/tasks.h"
#include "cluster/cluster_ops.h"
#include "cluster/coordinator.h"

namespace boost::asio {
class io_context;
}

namespace minga::cluster {

// What the coordination needs to know of the replicated log (the node wires
// it to replication::Replicator).
struct LeaderView {
  std::function<bool()> leading;
  std::function<std::string()> leader_address;        // the leader's client HOST:PORT, "" when none is known
  std::function<std::vector<std::string>()> members;  // the members' client HOST:PORT, this node's included
};

struct LeaderCoordinationOptions {
  CoordinatorOptions coordinator;  // dispatch_type is set to WORKER_TASK_REQUEST
  std::string self_address;        // this node's client HOST:PORT, as the members know it
  std::chrono::milliseconds watch_interval{50};
  std::chrono::milliseconds takeover_grace{1000};
  // A forwarded request unanswered this long (plus a sleep's own seconds)
  // is answered `timeout`; the leader's own deadlines come first.
  std::chrono::milliseconds forward_timeout{60000};
};

class LeaderCoordination final : public apps::TaskRunner {
 public:
  // `local` runs tasks on this node's own pool.
  LeaderCoordination(boost::asio::io_context& io, LeaderCoordinationOptions options, const apps::TaskRegistry& registry,
                     apps::TaskRunner& local, LeaderView view);
  ~LeaderCoordination() override;

  // sumsq, workers and heartbeats as this node's role answers them (add
  // `attach` from the node's WorkerAgent before registering them).
  ClusterOps ops();
  // Starts watching the leadership. `self_address` may be set only now
  // (the client port is bound).
  void start(std::string self_address);
  // New work is refused with shutting_down.
  void stop_accepting();
  // Stops watching, stops the Coordinator (pending tasks: shutting_down)
  // and closes the link to the leader. Returns the worker links closed.
  std::size_t stop();

  void run(pb::TaskRequest request, apps::TaskCallback done) override;
  // Tasks this node's Coordinator holds, plus requests forwarded and not
  // yet answered.
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace minga::cluster

// The coordinator role: the I/O shell around the pure Scheduler.
//
// It owns one dispatch link per worker (net::PeerLink to the worker's client
// port), takes worker heartbeats on this node's client port, sends each
// attempt the Scheduler chooses as a TASK_REQUEST whose request id is the
// attempt id, and feeds answers, broken links and the clock back into the
// Scheduler. sumsq is split into one part per live worker and gathered here.
//
// Threads: every Scheduler input and its Output handling happen under one
// mutex; sends only queue on a link's strand, and requesters' callbacks run
// after the mutex is released, so a callback may submit new work.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/api/app.h"
#include "cluster/scheduler.h"
#include "net/client.h"
#include "net/peer_link.h"
#include "proto/cluster.pb.h"

namespace boost::asio {
class io_context;
}

namespace minga::cluster {

struct CoordinatorOptions {
  std::string id;
  SchedulerOptions scheduling;
  std::chrono::milliseconds heartbeat_interval{500};  // told to workers; also the keepalive period
  std::chrono::milliseconds redial_interval{500};     // static workers that are down
  std::vector<net::Endpoint> static_workers;          // --workers
  net::PeerLinkOptions link;
  // The frame type of a dispatched attempt: TASK_REQUEST for a standalone
  // coordinator's workers, WORKER_TASK_REQUEST on a Raft leader (its members
  // would forward a TASK_REQUEST back to the leader).
  std::uint32_t dispatch_type = pb::TASK_REQUEST;
};

class Coordinator final : public apps::TaskRunner {
 public:
  Coordinator(boost::asio::io_context& io, CoordinatorOptions options, const apps::TaskRegistry& registry);
  ~Coordinator() override;

  // Registers the heartbeat, sumsq and workers handlers, the `workers`
  // status section and the metrics. Call before the client port opens.
  void install(apps::NodeServices& node);
  // Starts the clock and dials the static workers. `address` is where
  // workers reach this node (sent to workers it dials).
  void start(std::string address);
  // Dials `worker` like one of --workers (redialled while down) unless it
  // has a link already. Thread-safe; after stop() it does nothing.
  void add_worker(const net::Endpoint& worker);
  // A worker's heartbeat (WORKER_HEARTBEAT).
  Result<pb::WorkerHeartbeatResponse> heartbeat(const pb::WorkerHeartbeat& hb);
  // New work is refused with shutting_down; work in flight goes on.
  void stop_accepting();
  // Closes every link and answers every task still pending with `pending`
  // (by default shutting_down; a deposed Raft leader says not_leader, so
  // clients retry at the new leader); later link events change nothing.
  // Returns the number of links closed.
  std::size_t stop();
  std::size_t stop(const Error& pending);

  void run(pb::TaskRequest request, apps::TaskCallback done) override;
  void sum_squares(std::uint64_t n, std::function<void(Result<pb::SumSquaresResponse>)> done);
  pb::WorkersResponse workers() const;
  // Tasks accepted and not yet answered (for draining).
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace minga::cluster

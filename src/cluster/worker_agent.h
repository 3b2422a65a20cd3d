// The worker role's link to its coordinator: heartbeats out, attach in.
//
// A worker started with --join HOST:PORT heartbeats to that coordinator from
// the start; a worker without it waits until a coordinator dials it (the
// coordinator's --workers list) and then heartbeats to the address that
// coordinator gave in its attach request. Tasks arrive on the dispatch link
// as ordinary TASK_REQUEST frames and run on the node's pool; this class
// does not see them.
//
// When the coordinator is unreachable the agent redials every heartbeat
// interval. A worker that has not reached it yet (started first, or after
// losing it) logs `join | result: in_progress | ... | reason: waiting for the
// coordinator: ...` once per reason; losing a joined coordinator, a refusal
// (not a coordinator, duplicate id) and waiting longer than
// wait_for_coordinator are `join | result: fail`, each once. It keeps
// redialling after that, so a coordinator that comes up late still gets it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "apps/api/tasks.h"
#include "net/client.h"
#include "net/peer_link.h"
#include "proto/cluster.pb.h"

namespace boost::asio {
class io_context;
}

namespace minga::cluster {

struct WorkerAgentOptions {
  std::string id;
  unsigned capacity = 1;                                  // the node's task threads
  std::optional<net::Endpoint> join;                      // --join
  std::chrono::milliseconds heartbeat_interval{500};      // until the coordinator says otherwise
  std::chrono::milliseconds wait_for_coordinator{60000};  // --join-wait; then waiting is logged as a failure
  net::PeerLinkOptions link;
};

class WorkerAgent {
 public:
  WorkerAgent(boost::asio::io_context& io, WorkerAgentOptions options);
  ~WorkerAgent();
  WorkerAgent(const WorkerAgent&) = delete;
  WorkerAgent& operator=(const WorkerAgent&) = delete;

  // `address` is where the coordinator reaches this worker. Starts
  // heartbeating when a coordinator is known.
  void start(std::string address);
  // Stops heartbeating and closes the link; returns 1 if a link was open.
  std::size_t stop();

  // A coordinator's dispatch link introduces itself.
  Result<pb::WorkerAttachResponse> attach(const pb::WorkerAttachRequest& request);
  // {"coordinator":"HOST:PORT","joined":true} for /status.
  std::string status_json() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// TEST ONLY (--test-part-delay): runs every sum_squares_range part `delay`
// late, so integration tests can stop or kill a worker in the middle of a
// part. Other kinds pass straight through to `inner`.
std::unique_ptr<apps::TaskRunner> make_slow_parts_runner(boost::asio::io_context& io, apps::TaskRunner& inner,
                                                         std::chrono::milliseconds delay);

}  // namespace minga::cluster

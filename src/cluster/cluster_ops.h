// The cluster requests every node answers, whatever its role: sumsq and
// workers (binary frames and text-mode JSON ops), worker heartbeats and the
// attach of a dispatch link. A coordinator answers them from its scheduler;
// a worker or `both` node answers sumsq alone (one part) and lists itself.
#pragma once

#include <functional>
#include <string>

#include "apps/api/app.h"
#include "cluster/local_runner.h"
#include "proto/cluster.pb.h"

namespace minga::cluster {

using SumSquaresCallback = std::function<void(Result<pb::SumSquaresResponse>)>;
using WorkersCallback = std::function<void(Result<pb::WorkersResponse>)>;

struct ClusterOps {
  std::function<void(std::uint64_t n, SumSquaresCallback done)> sum_squares;
  std::function<void(WorkersCallback done)> workers;
  // Unset on nodes that are not coordinators: heartbeats are refused clearly.
  std::function<Result<pb::WorkerHeartbeatResponse>(const pb::WorkerHeartbeat&)> heartbeat;
  // Unset on nodes that are not workers: attach requests are refused clearly.
  std::function<Result<pb::WorkerAttachResponse>(const pb::WorkerAttachRequest&)> attach;
};

// Registers SUM_SQUARES_REQUEST, WORKERS_REQUEST, WORKER_HEARTBEAT,
// WORKER_ATTACH_REQUEST and the text-mode ops `sumsq` ({"op":"sumsq","n":"9"})
// and `workers`. `role` names the node in refusals.
void add_cluster_ops(apps::NodeServices& node, const std::string& role, ClusterOps ops);

// sumsq and workers for a node that runs work itself: sumsq is one part
// (1..n) on `runner`; the worker table lists the node alone. `address`
// returns where the node listens (known once the port is bound).
ClusterOps local_cluster_ops(apps::NodeServices& node, const LocalRunner& counters, unsigned capacity,
                             std::function<std::string()> address);

}  // namespace minga::cluster

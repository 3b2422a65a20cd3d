// The coordinator's worker table as JSON (the `workers` op and status section).
#pragma once

#include <string>

#include "proto/cluster.pb.h"

namespace minga::cluster {

// {"coordinator":"c1","policy":"round-robin","workers":[{"id":...},...]}
std::string workers_json(const pb::WorkersResponse& response);

}  // namespace minga::cluster

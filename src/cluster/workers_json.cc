#include "cluster/workers_json.h"

#include "base/json.h"

namespace minga::cluster {

std::string workers_json(const pb::WorkersResponse& response) {
  std::string list = "[";
  for (const auto& w : response.workers()) {
    if (list.size() > 1) list += ',';
    list += json::Object()
                .add("id", w.id())
                .add("address", w.address())
                .add("state", w.state())
                .add("capacity", static_cast<std::uint64_t>(w.capacity()))
                .add("in_flight", static_cast<std::uint64_t>(w.in_flight()))
                .add("done", static_cast<std::uint64_t>(w.done()))
                .add("failed", static_cast<std::uint64_t>(w.failed()))
                .add("reassigned", static_cast<std::uint64_t>(w.reassigned()))
                .add("last_heartbeat_seconds_ago", w.last_heartbeat_seconds_ago())
                .str();
  }
  return json::Object()
      .add("coordinator", response.coordinator_id())
      .add("policy", response.policy())
      .add_raw("workers", list + "]")
      .str();
}

}  // namespace minga::cluster

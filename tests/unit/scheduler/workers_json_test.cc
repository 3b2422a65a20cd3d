// The coordinator's worker table as JSON.
#include "cluster/workers_json.h"

#include <gtest/gtest.h>

namespace minga::cluster {
namespace {

TEST(WorkersJson, RendersTheTable) {
  pb::WorkersResponse r;
  r.set_coordinator_id("coord");
  r.set_policy("round-robin");
  auto* w = r.add_workers();
  w->set_id("w1");
  w->set_address("127.0.0.1:7401");
  w->set_state("live");
  w->set_capacity(2);
  w->set_in_flight(1);
  w->set_done(7);
  w->set_last_heartbeat_seconds_ago(0.25);
  EXPECT_EQ(workers_json(r),
            R"({"coordinator":"coord","policy":"round-robin","workers":[{"id":"w1","address":"127.0.0.1:7401",)"
            R"("state":"live","capacity":2,"in_flight":1,"done":7,"failed":0,"reassigned":0,)"
            R"("last_heartbeat_seconds_ago":0.25}]})");
}

}  // namespace
}  // namespace minga::cluster

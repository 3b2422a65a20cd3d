// The HTTP/JSON API on a three-node cluster: a write sent to a follower's
// monitor goes through the router like a binary request, so the follower
// forwards it to the leader, and every node then holds it.
#include <gtest/gtest.h>

#include <thread>

#include "cluster/raft_cluster.h"
#include "http_client.h"

namespace minga::testing {
namespace {

using namespace std::chrono_literals;

TEST(ApiCluster, AWriteThroughAFollowerLandsOnTheLeader) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  const std::size_t follower = (*leader + 1) % cluster->size();
  const auto port = cluster->member(follower).monitor;

  // The follower's view names the leader.
  const auto status = http_call(port, "GET", "/api/v1/cluster");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.body.rfind("{\"id\":\"" + cluster->member(follower).id + "\",\"role\":\"follower\",", 0), 0u)
      << status.body;
  EXPECT_NE(status.body.find("\"leader\":\"" + cluster->member(*leader).id + "\""), std::string::npos) << status.body;

  const auto a = http_call(port, "POST", "/api/v1/records", R"({"text":"dmlhIGZvbGxvd2Vy"})");  // "via follower"
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "{\"index\":\"1\"}\n");
  EXPECT_TRUE(cluster->wait_list(*leader, {"via follower"}));
  for (std::size_t i = 0; i < cluster->size(); ++i) EXPECT_TRUE(cluster->wait_list(i, {"via follower"})) << i;

  // A membership change must reach the leader: the follower names it.
  const auto change = http_call(port, "DELETE", "/api/v1/cluster/members/" + cluster->member(*leader).id);
  EXPECT_EQ(change.status, 409);
  EXPECT_EQ(change.body.rfind("{\"error\":{\"code\":\"NOT_LEADER\",\"message\":\"not the leader; the leader is " +
                                  cluster->member(*leader).id +
                                  " at 127.0.0.1:" + std::to_string(cluster->member(*leader).client) + "\"}}",
                              0),
            0u)
      << change.body;

  // A linearizable read through another follower sees it.
  const std::size_t other = (*leader + 2) % cluster->size();
  const auto list = http_call(cluster->member(other).monitor, "GET", "/api/v1/records");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body, "{\"records\":[{\"index\":\"1\",\"text\":\"via follower\"}],\"more\":false}\n");
}

TEST(ApiCluster, LeadershipMovesThroughTheApi) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  const std::size_t target = (*leader + 1) % cluster->size();
  const auto a = http_call(cluster->member(*leader).monitor, "POST", "/api/v1/cluster/leader",
                           "{\"id\":\"" + cluster->member(target).id + "\"}");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "{\"index\":\"0\"}\n");
  EXPECT_TRUE(eventually(
      [&] {
        const auto now = cluster->wait_leader(2s);
        return now.has_value() && *now == target;
      },
      20s));
}

// A file PUT to a follower's monitor is taken by that follower as `minga
// put` would be: its bytes pushed to the replicas, its entry committed
// through the leader. Any node then serves it, over HTTP and the CLI.
TEST(ApiCluster, AFilePutThroughAFollowerIsReadFromEveryNode) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  const std::size_t follower = (*leader + 1) % cluster->size();
  std::string content(1536 * 1024, '\0');  // two pieces
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 131 + i / 977) & 0xff);
  const auto a = http_call(cluster->member(follower).monitor, "PUT", "/api/v1/files/via%2Ffollower.bin", content);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(
      a.body.rfind("{\"file\":{\"name\":\"via/follower.bin\",\"size\":\"" + std::to_string(content.size()) + "\"", 0),
      0u)
      << a.body;
  for (std::size_t i = 0; i < cluster->size(); ++i) {
    const auto g = http_call(cluster->member(i).monitor, "GET", "/api/v1/files/via%2Ffollower.bin");
    EXPECT_EQ(g.status, 200) << i;
    EXPECT_TRUE(g.body == content) << i << ": " << g.body.size() << " bytes";
    const auto get =
        run_minga({"--server", "127.0.0.1:" + std::to_string(cluster->member(i).client), "get", "via/follower.bin"});
    EXPECT_EQ(get.exit_code, 0) << get.err;
    EXPECT_TRUE(get.out == content) << i;
  }
}

// With no leader to be had (two of three nodes killed), a write over HTTP is
// a 503 with Retry-After, the error code saying why; once a second node is
// back a leader is elected and the same write succeeds.
TEST(ApiCluster, AWriteWithoutALeaderIs503WithRetryAfter) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  const std::size_t survivor = (*leader + 1) % cluster->size();
  const std::size_t other = (*leader + 2) % cluster->size();
  cluster->kill(*leader);
  cluster->kill(other);
  const auto port = cluster->member(survivor).monitor;
  // At once (the leader's link just broke) and then during the survivor's
  // elections, which cannot win: always a 503 that says to retry.
  auto a = http_call(port, "POST", "/api/v1/records", R"({"text":"bm8gbGVhZGVy"})");  // "no leader"
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_EQ(a.headers["retry-after"], "1") << a.body;
  EXPECT_EQ(a.body.rfind("{\"error\":{\"code\":\"NOT_LEADER\",", 0), 0u) << a.body;
  const std::string election =
      "{\"error\":{\"code\":\"NOT_LEADER\",\"message\":\"no leader now (an election is under way); retry\"}}\n";
  EXPECT_TRUE(eventually(
      [&] {
        a = http_call(port, "POST", "/api/v1/records", R"({"text":"bm8gbGVhZGVy"})");
        EXPECT_EQ(a.status, 503) << a.body;
        return a.body == election && a.headers["retry-after"] == "1";
      },
      10s))
      << a.body;
  // Reads of this node's own state stay open.
  EXPECT_EQ(http_call(port, "GET", "/api/v1/records?stale=true").status, 200);

  cluster->restart(other);
  ASSERT_TRUE(eventually(
      [&] { return http_call(port, "POST", "/api/v1/records", R"({"text":"YmFjaw=="})").status == 200; },  // "back"
      20s));
}

}  // namespace
}  // namespace minga::testing

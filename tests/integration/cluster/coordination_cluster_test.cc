// Coordination on the Raft leader (docs/coordinator.md, ADR 007): on a
// 3-node cluster every node is a worker of the leader's scheduler; sumsq
// asked of any node spreads over every live node; a new leader takes the
// scheduling over; the CLI retries what a lost leader held.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include "raft_cluster.h"

namespace minga::testing {
namespace {

struct Part {
  std::string range, result, worker;
};

// "285\n  1-3 = 14 (n1)\n..." -> the first line and the parts.
std::pair<std::string, std::vector<Part>> parse_sumsq(const std::string& out) {
  std::pair<std::string, std::vector<Part>> r;
  r.first = out.substr(0, out.find('\n'));
  static const std::regex re(R"re(\n  (\d+-\d+) = (\d+) \(([^),]+)[^)]*\))re");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it) {
    r.second.push_back(Part{(*it)[1], (*it)[2], (*it)[3]});
  }
  return r;
}

std::string sumsq_through(const RaftCluster& c, std::size_t i, const std::string& n) {
  auto r = run_minga({"--server", c.address(i), "--timeout", "10", "sumsq", n}, {}, "", 20s);
  EXPECT_EQ(r.exit_code, 0) << "node " << i << ": " << r.err;
  return r.out;
}

// Polls until the leader's scheduler has exactly `n` live workers.
bool wait_live_workers(const RaftCluster& c, std::size_t via, std::size_t n) {
  return eventually(
      [&] {
        auto r = run_minga({"--server", c.address(via), "--timeout", "5", "-o", "json", "workers"}, {}, "", 10s);
        if (r.exit_code != 0) return false;
        std::size_t live = 0;
        for (std::size_t pos = 0; (pos = r.out.find("\"state\":\"live\"", pos)) != std::string::npos; ++pos) ++live;
        return live == n;
      },
      15s);
}

std::set<std::string> workers_of(const std::vector<Part>& parts) {
  std::set<std::string> out;
  for (const auto& p : parts) out.insert(p.worker);
  return out;
}

TEST(CoordinationCluster, SumsqThroughEachNodeAnswers285WithThreePartsFromThreeNodes) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  ASSERT_TRUE(wait_live_workers(*cluster, (*leader + 1) % 3, 3));
  for (std::size_t i = 0; i < 3; ++i) {
    auto [result, parts] = parse_sumsq(sumsq_through(*cluster, i, "9"));
    EXPECT_EQ(result, "285") << "node " << i;
    ASSERT_EQ(parts.size(), 3u) << "node " << i;
    EXPECT_EQ(parts[0].range + "=" + parts[0].result, "1-3=14");
    EXPECT_EQ(parts[1].range + "=" + parts[1].result, "4-6=77");
    EXPECT_EQ(parts[2].range + "=" + parts[2].result, "7-9=194");
    EXPECT_EQ(workers_of(parts), (std::set<std::string>{"n1", "n2", "n3"})) << "node " << i;
  }
  // A follower lists the leader's workers: every member, live.
  auto w = run_minga({"--server", cluster->address((*leader + 1) % 3), "workers"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  for (const char* id : {"n1", "n2", "n3"}) {
    EXPECT_TRUE(std::regex_search(w.out, std::regex(std::string("\n") + id + " +127\\.0\\.0\\.1:\\d+ +live ")))
        << w.out;
  }
}

TEST(CoordinationCluster, WithAFollowerKilledSumsqAnswers285WithTwoParts) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  ASSERT_TRUE(wait_live_workers(*cluster, *leader, 3));
  const std::size_t dead = (*leader + 1) % 3, other = (*leader + 2) % 3;
  cluster->kill(dead);
  ASSERT_TRUE(wait_live_workers(*cluster, *leader, 2));
  for (std::size_t i : {*leader, other}) {
    auto [result, parts] = parse_sumsq(sumsq_through(*cluster, i, "9"));
    EXPECT_EQ(result, "285") << "node " << i;
    ASSERT_EQ(parts.size(), 2u) << "node " << i;
    EXPECT_EQ(parts[0].range + "=" + parts[0].result, "1-5=55");
    EXPECT_EQ(parts[1].range + "=" + parts[1].result, "6-9=230");
    EXPECT_EQ(workers_of(parts), (std::set<std::string>{cluster->member(*leader).id, cluster->member(other).id}));
  }
}

TEST(CoordinationCluster, WithTheLeaderKilledANewLeaderSchedulesOverTheTwoLeft) {
  auto cluster = RaftCluster::start(3);
  const auto old_leader = cluster->wait_leader();
  ASSERT_TRUE(old_leader.has_value());
  ASSERT_TRUE(wait_live_workers(*cluster, *old_leader, 3));
  cluster->kill(*old_leader);
  const auto leader = cluster->wait_leader(15s, *old_leader);
  ASSERT_TRUE(leader.has_value());
  const std::size_t other = 3 - *old_leader - *leader;
  for (std::size_t i : {other, *leader}) {
    auto [result, parts] = parse_sumsq(sumsq_through(*cluster, i, "9"));
    EXPECT_EQ(result, "285") << "node " << i;
    ASSERT_EQ(parts.size(), 2u) << "node " << i;
    EXPECT_EQ(workers_of(parts), (std::set<std::string>{cluster->member(*leader).id, cluster->member(other).id}));
  }
  EXPECT_TRUE(
      cluster->member(*leader).proc.wait_for_output("action: coordinator | result: success | state: serving", 5s));
}

// Three clients send calc requests one after another, each listing the
// nodes in another order (so they reach the leader and both followers); the
// leader is killed with -9 in the middle. Every request must succeed with
// the right answer: the CLI retries what the lost leader held.
TEST(CoordinationCluster, LeaderKilledDuringACalcStreamEveryRequestSucceeds) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  ASSERT_TRUE(wait_live_workers(*cluster, *leader, 3));
  constexpr int kClients = 3;
  std::atomic<int> done{0};
  std::atomic<bool> killed{false};
  std::vector<std::vector<std::string>> failures(kClients);
  // Requests each client sent after the kill; each client writes only its own.
  std::vector<int> after_kill(kClients, 0);
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    std::string servers;
    for (std::size_t k = 0; k < 3; ++k) servers += (k ? "," : "") + cluster->address((t + k) % 3);
    clients.emplace_back([&, t, servers] {
      // Until this client sent 15 requests after the kill (bounded by 300).
      for (int i = 1; i <= 300 && after_kill[t] < 15; ++i) {
        const bool late = killed.load();
        auto r = run_minga({"--server", servers, "--timeout", "20", "-o", "json", "calc", "add", std::to_string(i),
                            std::to_string(t * 1000)},
                           {}, "", 30s);
        const std::string want = "{\"ok\":true,\"result\":" + std::to_string(i + t * 1000) + "}\n";
        if (r.exit_code != 0 || r.out != want) {
          failures[t].push_back("request " + std::to_string(i) + ": exit " + std::to_string(r.exit_code) + " " + r.out +
                                r.err);
        }
        ++done;
        if (late) ++after_kill[t];
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return done.load() >= 30; }, 60s));
  cluster->kill(*leader);
  killed = true;
  ASSERT_TRUE(cluster->wait_leader(15s, *leader).has_value());
  for (auto& c : clients) c.join();
  for (int t = 0; t < kClients; ++t) {
    EXPECT_GE(after_kill[t], 15) << "client " << t;
    EXPECT_TRUE(failures[t].empty()) << "client " << t << ": " << failures[t].size()
                                     << " failed, first: " << failures[t].front();
  }
}

}  // namespace
}  // namespace minga::testing

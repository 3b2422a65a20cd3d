// The lottery on a 3-node cluster: agencies talk to a follower, to the
// leader and to all three; the leader is killed with -9 mid-ingestion and
// comes back. Every agency gets exactly its winners, from every node, and
// no bet is stored twice.
#include <gtest/gtest.h>

#include <thread>

#include "../lottery/lottery_helpers.h"
#include "raft_cluster.h"

namespace minga::testing {
namespace {

TEST(LotteryCluster, LeaderKillNineDuringIngestionLosesNothingAndChangesNoWinner) {
  auto cluster = RaftCluster::start(3);
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader.has_value());
  const std::size_t follower = (*leader + 1) % 3;

  TempDir data;
  constexpr int kAgencies = 5;                  // the default lottery.agencies
  gen_data(data.path(), kAgencies, 10000, 21);  // 2000 bets an agency, in 200 batches
  const auto generated = read_generated(data.path(), kAgencies);
  std::size_t total = 0;
  for (const auto& [id, d] : generated) total += d.bets;
  const std::vector<std::string> slow{"--batch-max-amount", "10", "--batch-interval-ms", "10", "--retry-for", "40"};
  std::vector<Process> agencies;
  for (int id = 1; id <= kAgencies; ++id) {
    const std::string server = id <= 2   ? cluster->address(follower)
                               : id <= 4 ? cluster->address(*leader)
                                         : cluster->all_addresses();
    agencies.push_back(spawn_agency(server, id, data.path(), slow));
  }
  ASSERT_TRUE(cluster->member(*leader).proc.wait_for_output("apuesta_recibida | result: success | cantidad: 10", 20s));
  std::this_thread::sleep_for(300ms);
  cluster->kill(*leader);
  ASSERT_EQ(cluster->member(*leader).proc.err().find("action: sorteo"), std::string::npos)
      << "killed too late to test anything";
  ASSERT_TRUE(cluster->wait_leader(15s, *leader).has_value());
  std::this_thread::sleep_for(1s);  // the agencies of the dead node are retrying
  cluster->restart(*leader);

  for (int id = 1; id <= kAgencies; ++id) {
    Process& a = agencies[static_cast<std::size_t>(id - 1)];
    ASSERT_EQ(a.wait(90s), 0) << "agency " << id << "\n" << a.err();
    EXPECT_NE(a.err().find("action: consulta_ganadores | result: success | cant_ganadores: " +
                           std::to_string(generated.at(id).winners.size()) + "\n"),
              std::string::npos)
        << "agency " << id << "\n"
        << a.err();
  }
  for (std::size_t i = 0; i < cluster->size(); ++i) {
    // Every node has applied the same log: the same bets, the same draw.
    bool caught_up = false;
    for (int tries = 0; tries < 100 && !caught_up; ++tries) {
      caught_up = status_json(cluster->address(i)).find("\"draw_done\":true") != std::string::npos;
      if (!caught_up) std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(caught_up) << "node " << i;
    const std::string status = status_json(cluster->address(i));
    EXPECT_NE(status.find("\"total_bets\":" + std::to_string(total) + ","), std::string::npos)
        << "node " << i << ": " << status;
    for (int id = 1; id <= kAgencies; ++id) {
      const RunResult w =
          run_minga({"--server", cluster->address(i), "lottery", "winners", "--agency", std::to_string(id)});
      ASSERT_EQ(w.exit_code, 0) << w.err;
      EXPECT_EQ(w.out, winners_text(generated.at(id))) << "node " << i << ", agency " << id;
    }
  }
}

}  // namespace
}  // namespace minga::testing

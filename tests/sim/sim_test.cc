// The simulator's bounded budget for `make test`: many seeds, 3 and 5
// nodes, every checker after every event, liveness and linearizability at
// the end. Split in shards so ctest can run them in parallel.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <tuple>

#include "sim/simulation.h"

namespace minga::sim {
namespace {

constexpr std::uint64_t kSeedsPerShard = 50;
constexpr std::uint64_t kSteps = 2000;

void run_shard(std::uint64_t first_seed, std::size_t nodes) {
  for (std::uint64_t seed = first_seed; seed < first_seed + kSeedsPerShard; ++seed) {
    SimOptions opt;
    opt.seed = seed;
    opt.nodes = nodes;
    opt.steps = kSteps;
    SimResult r = run_simulation(opt);
    ASSERT_TRUE(r.ok) << "seed " << seed << " nodes " << nodes << ": " << r.violation
                      << "\nreplay: ./build/release/minga-sim --seed " << seed << " --steps " << kSteps << " --nodes "
                      << nodes << " --trace";
    EXPECT_GT(r.stats.committed, 0u);
  }
}

// 500 seeds for each cluster size.
class SimulationShard : public ::testing::TestWithParam<std::tuple<std::size_t, std::uint64_t>> {};

TEST_P(SimulationShard, EveryCheckerHolds) { run_shard(std::get<1>(GetParam()), std::get<0>(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Seeds, SimulationShard,
                         ::testing::Combine(::testing::Values(std::size_t{3}, std::size_t{5}),
                                            ::testing::Range(std::uint64_t{1}, std::uint64_t{501}, kSeedsPerShard)),
                         [](const auto& info) {
                           const auto first = std::get<1>(info.param);
                           return std::to_string(std::get<0>(info.param)) + "NodesSeeds" + std::to_string(first) +
                                  "To" + std::to_string(first + kSeedsPerShard - 1);
                         });

TEST(Simulation, SameSeedGivesByteIdenticalTraces) {
  SimOptions opt;
  opt.seed = 7;
  opt.steps = 600;
  std::ostringstream a, b;
  (void)run_simulation(opt, &a);
  (void)run_simulation(opt, &b);
  EXPECT_FALSE(a.str().empty());
  EXPECT_EQ(a.str(), b.str());
  opt.seed = 8;
  std::ostringstream c;
  (void)run_simulation(opt, &c);
  EXPECT_NE(a.str(), c.str());
}

// Every fault the simulator claims to inject happens in a handful of runs,
// so that a change to the schedule cannot quietly stop exercising one.
TEST(Simulation, RunsExerciseTheFaultsTheyClaim) {
  SimStats all;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SimOptions opt;
    opt.seed = seed;
    opt.nodes = 5;
    SimResult r = run_simulation(opt);
    ASSERT_TRUE(r.ok) << r.violation;
    all += r.stats;
  }
  EXPECT_GT(all.crashes, 20u);
  EXPECT_GT(all.disk_faults, 0u);
  EXPECT_GT(all.torn_writes, 0u);
  EXPECT_GT(all.partitions, 20u);
  EXPECT_GT(all.one_way_partitions, 0u);
  EXPECT_GT(all.messages_dropped, 0u);
  EXPECT_GT(all.messages_duplicated, 0u);
  EXPECT_GT(all.snapshots_installed, 0u);
  EXPECT_GT(all.transfers, 0u);
  EXPECT_GT(all.membership_changes, 10u);
  EXPECT_GT(all.replacements, 0u);
  EXPECT_GT(all.ops_done, 1000u);
}

}  // namespace
}  // namespace minga::sim

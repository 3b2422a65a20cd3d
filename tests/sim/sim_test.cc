// The simulator's bounded budget for `make test`: many seeds, 3 and 5
// nodes, every checker after every event, liveness and linearizability at
// the end. Split in shards so ctest can run them in parallel.
#include <gtest/gtest.h>

#include <sstream>

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

TEST(Simulation, ThreeNodesSeeds1To50) { run_shard(1, 3); }
TEST(Simulation, ThreeNodesSeeds51To100) { run_shard(51, 3); }
TEST(Simulation, ThreeNodesSeeds101To150) { run_shard(101, 3); }
TEST(Simulation, FiveNodesSeeds1To50) { run_shard(1, 5); }
TEST(Simulation, FiveNodesSeeds51To100) { run_shard(51, 5); }
TEST(Simulation, FiveNodesSeeds101To150) { run_shard(101, 5); }

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

TEST(Simulation, RunsExerciseTheFaultsTheyClaim) {
  std::uint64_t crashes = 0, partitions = 0, changes = 0, ops = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SimOptions opt;
    opt.seed = seed;
    opt.nodes = 5;
    SimResult r = run_simulation(opt);
    ASSERT_TRUE(r.ok) << r.violation;
    crashes += r.stats.crashes;
    partitions += r.stats.partitions;
    changes += r.stats.membership_changes;
    ops += r.stats.ops_done;
  }
  EXPECT_GT(crashes, 20u);
  EXPECT_GT(partitions, 20u);
  EXPECT_GT(changes, 10u);
  EXPECT_GT(ops, 1000u);
}

}  // namespace
}  // namespace minga::sim

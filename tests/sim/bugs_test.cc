// The checkers must catch real bugs: with each test-only bug switched on,
// the simulator has to report a violation within a fixed number of seeds.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>

#include "sim/simulation.h"

namespace minga::sim {
namespace {

// Each bound is several times the number of seeds the bug needs on
// average (measured over 1000 seeds: commit-by-counting is caught in ~3% of
// runs -- it needs a Figure 8 history -- vote-before-persist in ~9%, the
// others in most runs), so a harmless change to the simulator's schedule
// does not turn these tests red. A bug counts as caught only by a checker
// that names the rule it breaks: a liveness failure, say, is not a catch.
void expect_caught(const char* bug, std::uint64_t max_seeds, std::initializer_list<std::string_view> checkers) {
  SimOptions opt;
  ASSERT_TRUE(parse_bug(bug, opt));
  for (std::uint64_t seed = 1; seed <= max_seeds; ++seed) {
    opt.seed = seed;
    opt.nodes = seed % 2 == 0 ? 5 : 3;
    SimResult r = run_simulation(opt);
    if (!r.ok) {
      bool named = false;
      for (auto c : checkers) named |= r.violation.rfind(c, 0) == 0;
      EXPECT_TRUE(named) << bug << " was reported by another check (seed " << seed << "): " << r.violation;
      std::printf("  %s caught by seed %llu (%zu nodes) at step %llu: %s\n", bug, static_cast<unsigned long long>(seed),
                  opt.nodes, static_cast<unsigned long long>(r.step), r.violation.c_str());
      return;
    }
  }
  ADD_FAILURE() << "bug " << bug << " went unnoticed for " << max_seeds << " seeds";
}

TEST(BugInjection, CommitByCountingIsCaught) {
  expect_caught("commit-by-counting", 500, {"commit safety", "committed entry changed", "leader completeness"});
}
TEST(BugInjection, VoteWithoutLogCheckIsCaught) {
  expect_caught("vote-without-log-check", 40, {"leader completeness", "commit safety", "committed entry changed"});
}
TEST(BugInjection, VoteBeforePersistIsCaught) {
  expect_caught("vote-before-persist", 200, {"double vote", "election safety"});
}
TEST(BugInjection, ApplyBeforeCommitIsCaught) {
  expect_caught("apply-before-commit", 40, {"state machine safety", "linearizability"});
}
TEST(BugInjection, AckBeforeSyncIsCaughtByTheDurabilityCheck) { expect_caught("ack-before-sync", 40, {"durability"}); }
// Stale reads break no rule of the log: only the history's linearizability
// check, run at the end of each simulation, can see them.
TEST(BugInjection, ReadWithoutReadIndexIsCaughtByTheLinearizabilityCheck) {
  expect_caught("read-without-read-index", 40, {"linearizability"});
}

}  // namespace
}  // namespace minga::sim

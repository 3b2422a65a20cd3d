// The append-list model and its linearizability checker: known-good and
// known-bad histories, so that the checker itself is shown to work.
#include <gtest/gtest.h>

#include "sim/model.h"

namespace minga::sim {
namespace {

Op append(std::uint64_t id, std::uint64_t inv, std::optional<std::uint64_t> done, std::vector<std::uint64_t> before) {
  return Op{Op::Kind::append, id, inv, done, std::move(before)};
}
Op read(std::uint64_t id, std::uint64_t inv, std::uint64_t done, std::vector<std::uint64_t> seen) {
  return Op{Op::Kind::read, id, inv, done, std::move(seen)};
}

// The rule a violation names: "<rule>: <details>" (model.h). Empty when the
// history is linearizable.
std::string rule(const std::vector<Op>& history) {
  const std::string why = check_linearizable(history);
  return why.substr(0, why.find(':'));
}

TEST(Linearizability, SequentialHistoryIsLinearizable) {
  EXPECT_EQ(check_linearizable({append(1, 1, 2, {}), append(2, 3, 4, {1}), read(3, 5, 6, {1, 2})}), "");
}

TEST(Linearizability, ConcurrentOperationsMayTakeEffectInEitherOrder) {
  EXPECT_EQ(check_linearizable({append(1, 1, 4, {2}), append(2, 2, 3, {}), read(3, 1, 5, {2})}), "");
}

TEST(Linearizability, StaleReadIsCaught) {
  EXPECT_EQ(rule({append(1, 1, 2, {}), read(2, 3, 4, {})}), "real-time order");
  EXPECT_EQ(check_linearizable({append(1, 1, 2, {}), read(2, 3, 4, {})}),
            "real-time order: read 2 saw 0 appends but an operation that finished before it started had already "
            "made 1 visible (stale or lost write)");
}

TEST(Linearizability, LostAcknowledgedAppendIsCaught) {
  // Append 1 was acknowledged, then append 2 (started later) does not see
  // it: both claim the first position.
  EXPECT_EQ(rule({append(1, 1, 2, {}), append(2, 3, 4, {})}), "divergent order");
  // Append 2 does see it, but a later read misses it.
  EXPECT_EQ(rule({append(1, 1, 2, {}), append(2, 3, 4, {1}), read(3, 5, 6, {})}), "real-time order");
}

TEST(Linearizability, DivergentHistoriesAreCaught) {
  EXPECT_EQ(rule({append(1, 1, 9, {}), append(2, 2, 9, {}), read(3, 10, 11, {1}), read(4, 10, 11, {2})}),
            "divergent order");
}

TEST(Linearizability, PendingAppendMayOrMayNotHaveHappened) {
  EXPECT_EQ(check_linearizable({append(1, 1, std::nullopt, {}), read(2, 5, 6, {1}), read(3, 7, 8, {1})}), "");
  EXPECT_EQ(check_linearizable({append(1, 1, std::nullopt, {}), read(2, 5, 6, {})}), "");
}

TEST(Linearizability, ValueSeenBeforeItsAppendWasInvokedIsCaught) {
  EXPECT_EQ(rule({read(2, 1, 2, {1}), append(1, 3, std::nullopt, {})}), "seen before invoked");
}

TEST(Linearizability, DuplicatedOrInventedValuesAreCaught) {
  EXPECT_EQ(rule({append(1, 1, 2, {}), read(2, 3, 4, {1, 1})}), "duplicate value");
  EXPECT_EQ(rule({read(2, 3, 4, {7})}), "unknown value");
}

TEST(ListMachine, SnapshotRoundTripsAndRejectsGarbage) {
  ListMachine m;
  m.apply(raft::Entry{raft::Term{1}, raft::Index{1}, raft::EntryType::command, encode_append(5)});
  m.apply(raft::Entry{raft::Term{1}, raft::Index{2}, raft::EntryType::noop, {}});
  ListMachine back;
  ASSERT_TRUE(back.restore(m.snapshot(), raft::Index{2}));
  EXPECT_EQ(back.list(), std::vector<std::uint64_t>{5});
  EXPECT_EQ(back.hash(), m.hash());
  EXPECT_FALSE(back.restore(m.snapshot(), raft::Index{3}));
  EXPECT_FALSE(back.restore("short", raft::Index{2}));
}

}  // namespace
}  // namespace minga::sim

// Raft paper §7: log compaction and InstallSnapshot to lagging followers.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::raft::test {
namespace {

SnapshotPtr snapshot_at(std::uint64_t index, std::uint64_t term, std::vector<std::uint64_t> ids, std::string data) {
  return std::make_shared<const Snapshot>(
      Snapshot{SnapshotMeta{I(index), T(term), voters(std::move(ids))}, std::move(data)});
}

TEST(Snapshot, LeaderSendsASnapshotToAFollowerBehindItsCompactedLog) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cl.at(1).propose("c" + std::to_string(i)));
  cl.stabilize();
  const Index applied = cl.at(1).log().applied();
  ASSERT_EQ(applied, I(6));
  auto snap = cl.at(1).compact(applied, "state@6");
  ASSERT_TRUE(snap);
  EXPECT_EQ(cl.at(1).log().first_index(), I(7));
  cl.heal();
  ASSERT_TRUE(cl.at(1).propose("after"));
  cl.tick(1);
  cl.stabilize();
  EXPECT_GE(cl.delivered(MessageType::snapshot), 1u);
  EXPECT_EQ(cl.at(3).log().snapshot().index, I(6));
  EXPECT_EQ(cl.store(3).snap_data->data, "state@6");
  EXPECT_EQ(cl.at(3).log().last_index(), I(7));
  EXPECT_EQ(cl.applied_commands(3), std::vector<std::string>{"after"}) << "the rest came through the snapshot";
  EXPECT_EQ(cl.at(3).log().committed(), I(7));
}

TEST(Snapshot, FollowerIgnoresASnapshotItHasAlreadyCommitted) {
  Core f(config(2), state({1, 2, 3}, 2, log_with_terms({1, 1, 2, 2, 2}), 0, 5));
  Message m = make(MessageType::snapshot, 1, 2, 2);
  m.snapshot = snapshot_at(3, 2, {1, 2, 3}, "old");
  ASSERT_TRUE(f.step(m));
  EXPECT_EQ(f.log().snapshot().index, I(0));
  EXPECT_EQ(f.log().last_index(), I(5));
  auto resp = of_type(drain(f), MessageType::append_response);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].index, I(5));
}

TEST(Snapshot, SnapshotWhoseLastEntryTheFollowerHoldsOnlyMovesTheCommitIndex) {
  Core f(config(2), state({1, 2, 3}, 2, log_with_terms({1, 1, 2, 2, 2}), 0, 1));
  Message m = make(MessageType::snapshot, 1, 2, 2);
  m.snapshot = snapshot_at(4, 2, {1, 2, 3}, "s");
  ASSERT_TRUE(f.step(m));
  EXPECT_EQ(f.log().snapshot().index, I(0)) << "no restore: the log stays";
  EXPECT_EQ(f.log().committed(), I(4));
  EXPECT_EQ(f.log().last_index(), I(5));
  auto resp = of_type(drain(f), MessageType::append_response);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].index, I(4)) << "entry 5 may belong to another leader's history: vouch only for the snapshot";
}

TEST(Snapshot, FollowerWithAConflictingLogReplacesItWithTheSnapshot) {
  Core f(config(2), state({1, 2, 3}, 3, log_with_terms({1, 1, 1, 1, 1, 1, 1}), 0, 1));
  Message m = make(MessageType::snapshot, 1, 2, 3);
  m.snapshot = snapshot_at(4, 3, {1, 2, 3}, "s");
  ASSERT_TRUE(f.step(m));
  EXPECT_EQ(f.log().snapshot().index, I(4));
  EXPECT_EQ(f.log().last_index(), I(4)) << "entries 5..7 followed a different history";
  Ready rd = f.ready();
  ASSERT_TRUE(rd.snapshot);
  EXPECT_EQ(rd.snapshot->data, "s");
  EXPECT_TRUE(rd.committed_entries.empty()) << "the state machine restores from the snapshot instead";
  f.advance();
}

TEST(Snapshot, CompactionBeyondTheAppliedIndexIsRefused) {
  Cluster cl(3);
  cl.elect(1);
  auto r = cl.at(1).compact(I(5), "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST(Snapshot, LostSnapshotIsSentAgainAfterAnElectionTimeout) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(3);
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  ASSERT_TRUE(cl.at(1).compact(cl.at(1).log().applied(), "s"));
  cl.heal();
  int dropped = 0;
  cl.drop_if = [&](Message& m) { return m.type == MessageType::snapshot && dropped++ == 0; };
  for (int i = 0; i < 25; ++i) {
    cl.tick(1);
    cl.stabilize();
  }
  EXPECT_EQ(dropped, 2);
  EXPECT_EQ(cl.at(3).log().snapshot().index, I(2));
}

TEST(Snapshot, NodeRestartsFromItsSnapshotAndTheLogAfterIt) {
  Cluster cl(3);
  cl.elect(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cl.at(1).propose("c"));
  cl.stabilize();
  ASSERT_TRUE(cl.compact(1, I(3), "s3"));
  cl.restart(1);
  EXPECT_EQ(cl.at(1).log().snapshot().index, I(3));
  EXPECT_EQ(cl.at(1).log().first_index(), I(4));
  EXPECT_EQ(cl.at(1).log().last_index(), I(4));
  EXPECT_EQ(cl.at(1).log().committed(), I(4));
  cl.elect(2);
  ASSERT_TRUE(cl.at(2).is_leader());
  ASSERT_TRUE(cl.at(2).propose("d"));
  cl.stabilize();
  EXPECT_EQ(cl.at(1).log().last_index(), I(6));
  EXPECT_EQ(cl.at(1).log().committed(), I(6));
  EXPECT_EQ(cl.applied_commands(1), (std::vector<std::string>{"c", "d"})) << "4 re-applied after restart, then 6";
}

}  // namespace
}  // namespace minga::raft::test

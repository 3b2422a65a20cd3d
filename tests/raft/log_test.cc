// Unit tests of the core's building blocks: the in-memory log, membership
// encoding and per-follower flow control.
#include <gtest/gtest.h>

#include "harness.h"
#include "raft/log.h"
#include "raft/progress.h"

namespace minga::raft::test {
namespace {

SnapshotMeta base(std::vector<std::uint64_t> ids) { return SnapshotMeta{I(0), T(0), voters(std::move(ids))}; }

Entry config_entry(std::uint64_t term, std::uint64_t index, const Membership& m) {
  return Entry{T(term), I(index), EntryType::config, encode_membership(m)};
}

TEST(RaftLog, FindConflictByTermReturnsTheLastIndexWithATermNotAboveTheGivenOne) {
  RaftLog log(base({1}), log_with_terms({1, 1, 2, 2, 5, 5}), I(0));
  EXPECT_EQ(log.find_conflict_by_term(I(6), T(5)), std::make_pair(I(6), T(5)));
  EXPECT_EQ(log.find_conflict_by_term(I(6), T(4)), std::make_pair(I(4), T(2)));
  EXPECT_EQ(log.find_conflict_by_term(I(6), T(1)), std::make_pair(I(2), T(1)));
  EXPECT_EQ(log.find_conflict_by_term(I(6), T(0)), std::make_pair(I(0), T(0)));
  EXPECT_EQ(log.find_conflict_by_term(I(3), T(9)), std::make_pair(I(3), T(2)));
}

TEST(RaftLog, SliceStopsAtTheByteLimitButAlwaysReturnsOneEntry) {
  std::vector<Entry> es;
  for (std::uint64_t i = 1; i <= 5; ++i) es.push_back(Entry{T(1), I(i), EntryType::command, std::string(76, 'x')});
  RaftLog log(base({1}), es, I(0));  // 100 bytes per entry
  EXPECT_EQ(log.slice(I(1), I(5), 250).size(), 2u);
  EXPECT_EQ(log.slice(I(1), I(5), 1).size(), 1u);
  EXPECT_EQ(log.slice(I(4), I(9), 1000).size(), 2u);
}

TEST(RaftLog, MembershipTakesEffectWhenAppendedAndRevertsWhenTruncated) {
  RaftLog log(base({1, 2, 3}), log_with_terms({1}), I(1));
  Membership four = voters({1, 2, 3, 4});
  ASSERT_TRUE(log.maybe_append(I(1), T(1), I(1), {config_entry(1, 2, four)}));
  EXPECT_EQ(log.membership(), four) << "in force once appended, before it commits";
  EXPECT_EQ(log.membership_index(), I(2));
  // A new leader overwrites the uncommitted config entry.
  ASSERT_TRUE(log.maybe_append(I(1), T(1), I(1), {Entry{T(2), I(2), EntryType::noop, {}}}));
  EXPECT_EQ(log.membership(), voters({1, 2, 3}));
}

TEST(RaftLog, CompactionKeepsTheTermAndMembershipOfTheSnapshotIndex) {
  RaftLog log(base({1}), log_with_terms({1, 2, 3}), I(3));
  log.mark_applying(I(3));
  log.mark_applied();
  log.compact(SnapshotMeta{I(2), T(2), log.membership_at(I(2))});
  EXPECT_EQ(log.first_index(), I(3));
  EXPECT_EQ(log.term_at(I(2)), T(2));
  EXPECT_FALSE(log.term_at(I(1)).has_value());
  EXPECT_EQ(log.last_index(), I(3));
}

TEST(RaftLog, TruncationMarksOverwrittenEntriesUnstableAgain) {
  RaftLog log(base({1}), log_with_terms({1, 1, 1}), I(1));
  EXPECT_TRUE(log.unstable_entries().empty());
  ASSERT_TRUE(log.maybe_append(I(1), T(1), I(1), {Entry{T(2), I(2), EntryType::noop, {}}}));
  auto unstable = log.unstable_entries();
  ASSERT_EQ(unstable.size(), 1u);
  EXPECT_EQ(unstable[0].index, I(2));
  EXPECT_EQ(unstable[0].term, T(2));
}

TEST(Membership, EncodingRoundTripsAndRejectsMalformedInput) {
  Membership m = voters({1, 2, 7});
  m.learners.insert(N(9));
  Membership back;
  ASSERT_TRUE(decode_membership(encode_membership(m), back));
  EXPECT_EQ(back, m);
  std::string bytes = encode_membership(m);
  EXPECT_FALSE(decode_membership(bytes.substr(0, bytes.size() - 1), back));
  EXPECT_FALSE(decode_membership(bytes + "x", back));
  EXPECT_FALSE(decode_membership(std::string(8, '\xff'), back)) << "a huge count must not allocate";
  Membership overlap = voters({1});
  overlap.learners.insert(N(1));
  EXPECT_FALSE(decode_membership(encode_membership(overlap), back));
}

TEST(Progress, InflightWindowIsBoundedByCountAndBytes) {
  Inflights in(3, 1000);
  in.add(I(1), 10);
  in.add(I(2), 10);
  EXPECT_FALSE(in.full());
  in.add(I(3), 10);
  EXPECT_TRUE(in.full());
  in.free_to(I(2));
  EXPECT_EQ(in.count(), 1u);
  EXPECT_FALSE(in.full());
  in.add(I(4), 990);
  EXPECT_TRUE(in.full()) << "1000 bytes in flight";
}

TEST(Progress, StaleRejectionsDoNotMoveNextIndexBackwards) {
  Progress pr(I(10), 8, 1 << 20);
  pr.match = I(5);
  pr.become_replicate();
  EXPECT_FALSE(pr.maybe_decrease_to(I(4), I(0))) << "rejected below match: stale";
  EXPECT_TRUE(pr.maybe_decrease_to(I(8), I(0)));
  EXPECT_EQ(pr.next, I(6));
  pr.become_probe();
  pr.next = I(9);
  EXPECT_FALSE(pr.maybe_decrease_to(I(3), I(0))) << "not the probe in flight: stale";
  EXPECT_TRUE(pr.maybe_decrease_to(I(8), I(6)));
  EXPECT_EQ(pr.next, I(7));
}

}  // namespace
}  // namespace minga::raft::test

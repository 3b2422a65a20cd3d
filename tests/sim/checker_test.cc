// Every safety checker shown able to fire: each test hands the checker a
// forged trace that breaks one rule -- cores from separate scenario
// clusters put side by side as if they were one cluster, or hooks called as
// a broken driver would -- and requires that this checker, by name, reports
// it. Each also shows a legal trace next to it that passes, so that a
// checker which fires on everything fails too. (The linearizability check of
// a whole run is proven in bugs_test.cc, the durability check there too.)
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "raft/harness.h"
#include "sim/checker.h"

namespace minga::sim {
namespace {

using raft::test::Cluster;
using raft::test::I;
using raft::test::T;

// What a node would restart with: here, its whole log in memory.
LogView durable_of(const raft::Core& c) {
  LogView v{c.log().snapshot().index, c.log().snapshot().term, {}};
  for (raft::Index i = v.snap_index.next(); i <= c.log().last_index(); i = i.next())
    v.terms.push_back(*c.log().term_at(i));
  return v;
}

// One after_event() over the given cores, as nodes 1, 2, ...
class Views {
 public:
  Views(std::initializer_list<const raft::Core*> cores) {
    for (const raft::Core* c : cores) {
      logs_.push_back(durable_of(*c));
      views_.push_back(NodeView{c, &logs_.back()});
    }
  }
  const std::vector<NodeView>& get() const { return views_; }

 private:
  std::deque<LogView> logs_;  // stable addresses
  std::vector<NodeView> views_;
};

std::string rule(const Checker& c) { return c.violation().substr(0, c.violation().find(':')); }

raft::Entry entry(std::uint64_t term, std::uint64_t index, std::string data) {
  return raft::Entry{T(term), I(index), raft::EntryType::command, std::move(data)};
}

TEST(Checkers, ElectionSafetyFiresOnTwoLeadersOfOneTerm) {
  Cluster a(3), b(3);
  a.elect(1);
  b.elect(2);
  ASSERT_TRUE(a.at(1).is_leader() && b.at(2).is_leader());
  ASSERT_EQ(a.at(1).term(), b.at(2).term());

  Checker legal(3);
  legal.after_event(Views{&a.at(1), &a.at(2), &a.at(3)}.get());
  EXPECT_TRUE(legal.ok()) << legal.violation();

  Checker c(3);
  c.after_event(Views{&a.at(1), &b.at(2), &a.at(3)}.get());
  EXPECT_EQ(rule(c), "election safety") << c.violation();
  EXPECT_EQ(c.violation(), "election safety: nodes 1 and 2 both lead term " + std::to_string(a.at(1).term().value));
}

TEST(Checkers, LogMatchingFiresOnTwoEntriesWithOneIndexAndTerm) {
  Checker c(3);
  c.on_entries(1, {entry(1, 1, "x")}, T(0));
  c.on_entries(2, {entry(1, 1, "x")}, T(0));  // a replica: fine
  ASSERT_TRUE(c.ok()) << c.violation();
  c.on_entries(3, {entry(1, 1, "y")}, T(0));
  EXPECT_EQ(rule(c), "log matching") << c.violation();
  EXPECT_NE(c.violation().find("node 3 holds an entry at index 1 of term 1"), std::string::npos) << c.violation();
}

TEST(Checkers, LogMatchingFiresOnOneEntryWithTwoPredecessorTerms) {
  Checker c(2);
  c.on_entries(1, {entry(2, 2, "x")}, T(1));
  c.on_entries(2, {entry(2, 2, "x")}, T(2));
  EXPECT_EQ(rule(c), "log matching") << c.violation();
}

TEST(Checkers, CommitIndexGoingBackFires) {
  Cluster ahead(3), behind(3);
  ahead.elect(1);
  ASSERT_TRUE(ahead.at(1).propose("x").ok());
  ahead.stabilize();
  behind.elect(1);
  ASSERT_EQ(ahead.at(1).log().committed(), I(2));
  ASSERT_EQ(behind.at(1).log().committed(), I(1));

  Checker c(3);
  c.after_event(Views{&behind.at(1), &behind.at(2), &behind.at(3)}.get());
  c.after_event(Views{&ahead.at(1), &ahead.at(2), &ahead.at(3)}.get());  // moving forward: fine
  ASSERT_TRUE(c.ok()) << c.violation();
  c.after_event(Views{&behind.at(1), &ahead.at(2), &ahead.at(3)}.get());
  EXPECT_EQ(rule(c), "commit index went back") << c.violation();
  EXPECT_EQ(c.violation(), "commit index went back: node 1's commit index went back from 2 to 1");
}

TEST(Checkers, OutOfOrderApplyFires) {
  Checker c(2);
  c.on_apply(1, entry(1, 1, "a"), 11);
  c.on_apply(1, entry(1, 2, "b"), 12);
  c.on_apply(2, entry(1, 1, "a"), 11);
  ASSERT_TRUE(c.ok()) << c.violation();
  c.on_apply(2, entry(1, 3, "c"), 13);  // skips index 2
  EXPECT_EQ(rule(c), "apply order") << c.violation();
  EXPECT_EQ(c.violation(), "apply order: node 2 applied index 3 but 2 was next");
}

TEST(Checkers, ApplyingAnIndexTwiceIsOutOfOrder) {
  Checker c(1);
  c.on_apply(1, entry(1, 1, "a"), 11);
  c.on_apply(1, entry(1, 1, "a"), 11);
  EXPECT_EQ(rule(c), "apply order") << c.violation();
}

TEST(Checkers, BadSnapshotFiresOnASnapshotThatDisagreesWithTheCommittedEntry) {
  Cluster a(3);
  a.elect(1);
  ASSERT_EQ(a.at(1).log().committed(), I(1));
  const raft::Term committed_term = a.at(1).term();
  Checker c(3);
  c.after_event(Views{&a.at(1), &a.at(2), &a.at(3)}.get());
  ASSERT_TRUE(c.ok()) << c.violation();
  const raft::Membership members = a.at(1).membership();
  c.on_install(2, raft::SnapshotMeta{I(1), committed_term, members}, 0);  // the committed entry: fine
  ASSERT_TRUE(c.ok()) << c.violation();
  c.on_install(3, raft::SnapshotMeta{I(1), committed_term.next(), members}, 0);
  EXPECT_EQ(rule(c), "bad snapshot") << c.violation();
  EXPECT_NE(c.violation().find("node 3 installed a snapshot ending at index 1"), std::string::npos) << c.violation();
}

}  // namespace
}  // namespace minga::sim

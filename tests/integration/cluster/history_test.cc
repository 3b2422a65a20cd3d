// The records history checker on forged histories: good ones pass, and each
// kind of violation is caught by the rule meant for it.
#include "history.h"

#include <gtest/gtest.h>

namespace minga::testing {
namespace {

using Kind = HistoryOp::Kind;
using Outcome = HistoryOp::Outcome;
using Rule = Violation::Rule;

HistoryOp acked(std::uint64_t value, std::int64_t inv, std::int64_t done, std::uint64_t index) {
  return HistoryOp{Kind::append, 0, 0, value, inv, done, Outcome::ok, index, 0, 0};
}
HistoryOp unknown(std::uint64_t value, std::int64_t inv) {
  return HistoryOp{Kind::append, 0, 0, value, inv, 0, Outcome::unknown, 0, 0, 0};
}
HistoryOp refused(std::uint64_t value, std::int64_t inv, std::int64_t done) {
  return HistoryOp{Kind::append, 0, 0, value, inv, done, Outcome::refused, 0, 0, 0};
}
HistoryOp read(std::int64_t inv, std::int64_t done, const std::vector<std::uint64_t>& list) {
  return HistoryOp{Kind::read, 0, 0, 0, inv, done, Outcome::ok, 0, list.size(), list_digest(list)};
}

std::string fired(const std::vector<HistoryOp>& h, const std::vector<std::uint64_t>& final_list) {
  auto v = check_history(h, final_list);
  return v ? std::string(rule_name(v->rule)) + ": " + v->detail : "";
}

Rule rule_of(const std::vector<HistoryOp>& h, const std::vector<std::uint64_t>& final_list) {
  auto v = check_history(h, final_list);
  EXPECT_TRUE(v) << "no rule fired";
  return v ? v->rule : Rule::never_sent;
}

TEST(History, SequentialAndConcurrentHistoriesPass) {
  EXPECT_EQ(fired({acked(1, 0, 1, 1), read(2, 3, {1}), acked(2, 4, 5, 2), read(6, 7, {1, 2})}, {1, 2}), "");
  // Overlapping appends may land in either order; a read overlapping both
  // may see either state.
  EXPECT_EQ(fired({acked(1, 0, 10, 2), acked(2, 1, 9, 1), read(2, 8, {2}), read(11, 12, {2, 1})}, {2, 1}), "");
  EXPECT_EQ(fired({}, {}), "");
}

TEST(History, UnknownAppendsMayOrMayNotHaveTakenEffect) {
  EXPECT_EQ(fired({unknown(1, 0), read(5, 6, {1})}, {1}), "");
  EXPECT_EQ(fired({unknown(1, 0), read(5, 6, {})}, {}), "");
  // Seen late is fine: it took effect between the two reads.
  EXPECT_EQ(fired({unknown(1, 0), read(1, 2, {}), read(3, 4, {1})}, {1}), "");
}

TEST(History, AcknowledgedAppendNotAtItsIndexIsCaught) {
  EXPECT_EQ(rule_of({acked(5, 0, 1, 2), unknown(6, 0)}, {5, 6}), Rule::acked_at_index);
  // A lost acknowledged write.
  EXPECT_EQ(rule_of({acked(5, 0, 1, 1)}, {}), Rule::acked_at_index);
  EXPECT_EQ(rule_of({acked(5, 0, 1, 0)}, {5}), Rule::acked_at_index);
}

TEST(History, ReadThatIsNotAPrefixIsCaught) {
  EXPECT_EQ(rule_of({acked(1, 0, 1, 1), acked(2, 0, 1, 2), read(0, 1, {2})}, {1, 2}), Rule::read_prefix);
  // Longer than the final list: it saw a record that was then lost.
  EXPECT_EQ(rule_of({acked(1, 0, 1, 1), unknown(2, 0), read(0, 3, {1, 2})}, {1}), Rule::read_prefix);
}

TEST(History, StaleReadIsCaught) {
  const auto v = check_history({acked(1, 0, 1, 1), read(2, 3, {})}, {1});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, Rule::real_time);
  EXPECT_NE(v->detail.find("stale"), std::string::npos) << v->detail;
  // A read that went backwards.
  EXPECT_EQ(rule_of({unknown(1, 0), read(1, 2, {1}), read(3, 4, {})}, {1}), Rule::real_time);
}

TEST(History, AppendsOrderedAgainstRealTimeAreCaught) {
  // a finished before b started, yet b sits before a.
  EXPECT_EQ(rule_of({acked(1, 0, 1, 2), acked(2, 2, 3, 1)}, {2, 1}), Rule::real_time);
  // An append invoked after a read finished took a place the read had seen.
  EXPECT_EQ(rule_of({read(0, 1, {7}), unknown(7, 5)}, {7}), Rule::real_time);
}

TEST(History, DuplicateIsCaught) { EXPECT_EQ(rule_of({acked(1, 0, 1, 1), unknown(1, 2)}, {1, 1}), Rule::duplicate); }

TEST(History, ValuesNeverSentOrRefusedAreCaught) {
  EXPECT_EQ(rule_of({}, {9}), Rule::never_sent);
  const auto v = check_history({refused(3, 0, 1)}, {3});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, Rule::never_sent);
  EXPECT_NE(v->detail.find("refused"), std::string::npos) << v->detail;
}

TEST(History, DigestsFollowOrderAndExtendOneValueAtATime) {
  EXPECT_EQ(list_digest({}), kEmptyDigest);
  EXPECT_EQ(list_digest({1, 2}), extend_digest(extend_digest(kEmptyDigest, 1), 2));
  EXPECT_NE(list_digest({1, 2}), list_digest({2, 1}));
  EXPECT_NE(list_digest({0}), list_digest({}));
}

TEST(History, TheFileFormSaysWhichReadsAreNotPrefixes) {
  const std::string text = format_history({acked(1, 0, 1, 1), read(2, 3, {1}), read(2, 3, {4})}, {1});
  EXPECT_NE(text.find("# final list (1 records): 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("append 1 0 1 ok index=1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("read - 2 3 ok length=1 digest=" + std::to_string(list_digest({1})) + " prefix\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" NOT-A-PREFIX\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace minga::testing
